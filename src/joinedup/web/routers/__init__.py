"""One router per area. An area's router is added to ROUTERS here, once."""

from fastapi import APIRouter

from joinedup.web.routers import accounts, collaborations, insight, insight_figures, places, surveys, users

ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    places.router,
    collaborations.router,
    users.router,
    insight_figures.router,
    insight.router,
    surveys.router,
)
