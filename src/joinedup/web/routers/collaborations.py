"""Web pages for the collaborations area (being built; the router is registered already)."""

from fastapi import APIRouter

router = APIRouter()
