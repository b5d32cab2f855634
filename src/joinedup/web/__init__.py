"""The web app: thin FastAPI routers over the engine, server-rendered on the GOV.UK Design System."""
