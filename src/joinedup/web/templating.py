"""Jinja2 templates: our own under web/templates, and the GOV.UK Frontend macros."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)

from joinedup import framework
from joinedup.places.roles import ROLE_LABELS, Role

TEMPLATES_DIR = Path(__file__).parent / "templates"

env = Environment(
    loader=ChoiceLoader([
        FileSystemLoader(TEMPLATES_DIR),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ]),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals["framework"] = framework
env.globals["role_label"] = lambda r: ROLE_LABELS[Role(r)]


def _thousands(value: float | int | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _missing(value: Any) -> bool:
    """None, and pandas' NaT and NaN, which are 'true' in a template but hold no date."""
    return value is None or value != value  # NaT and NaN are not equal to themselves


def _date(value: Any) -> str:
    return "" if _missing(value) or not value else value.strftime("%-d %B %Y")


def _datetime(value: Any) -> str:
    if _missing(value) or not value:
        return ""
    return value.strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm")


def _sentence_case(value: Any) -> str:
    """The first letter in capitals and the rest as written. Jinja's own ``capitalize``
    lower-cases the rest, which would turn a partner named "Northbrook NHS Trust" in a
    cohort's description into "northbrook nhs trust"."""
    text = "" if value is None else str(value)
    return text[:1].upper() + text[1:]


env.filters["thousands"] = _thousands
env.filters["sentence_case"] = _sentence_case
env.filters["govdate"] = _date
env.filters["govdatetime"] = _datetime

templates = Jinja2Templates(env=env)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page; the layout's shared context (nonce, CSRF token, user) is added here."""
    from joinedup.web.security import csrf_token

    ctx: dict[str, Any] = {
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "csrf_token": csrf_token(request),
        "current_user": getattr(request.state, "user", None),
        "current_place": getattr(request.state, "place", None),
        "current_role": getattr(request.state, "role", None),
        "capabilities": getattr(request.state, "capabilities", frozenset()),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
