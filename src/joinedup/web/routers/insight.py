"""Web pages for the insight area (being built; the router is registered already)."""

from fastapi import APIRouter

router = APIRouter()
