"""One router per area. An area's router is added to ROUTERS here, once."""

from fastapi import APIRouter

from joinedup.web.routers import (
    accounts,
    collaborations,
    insight_cohorts,
    insight_figures,
    insight_persons,
    insight_runs,
    insight_sources,
    places,
    surveys,
    users,
    value,
)

ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    places.router,
    collaborations.router,
    users.router,
    insight_figures.router,
    insight_sources.router,
    insight_runs.router,
    insight_persons.router,
    insight_cohorts.router,
    surveys.router,
    value.router,
)
