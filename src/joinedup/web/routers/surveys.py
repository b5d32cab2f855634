"""Web pages for the surveys area (being built; the router is registered already)."""

from fastapi import APIRouter

router = APIRouter()
