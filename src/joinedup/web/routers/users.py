"""Web pages for the users area (being built; the router is registered already)."""

from fastapi import APIRouter

router = APIRouter()
