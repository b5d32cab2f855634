"""One router per area. An area's router is added to ROUTERS here, once."""

from fastapi import APIRouter

from joinedup.web.routers import (
    accounts,
    board,
    collaborations,
    collections,
    insight_cohorts,
    insight_figures,
    insight_persons,
    insight_review,
    insight_rules,
    insight_runs,
    insight_sources,
    insight_upload_many,
    partners,
    places,
    public,
    surveys,
    surveys_answering,
    surveys_results,
    users,
    value,
)

ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    partners.router,  # before places: /places/new is not a place
    places.router,
    collaborations.router,
    users.router,
    insight_figures.router,
    insight_sources.router,
    insight_upload_many.router,
    insight_rules.router,
    insight_runs.router,
    insight_persons.router,
    insight_review.router,
    insight_cohorts.router,
    surveys_answering.router,
    surveys.router,
    surveys_results.router,
    board.router,
    collections.router,
    value.router,
    public.router,
)
