"""Person-level pages: the persons list and one person's records and events. Analysts only;
each view is written to the audit log."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from joinedup.csvsafe import rows_to_csv
from joinedup.insight import cohorts as cohort_mod
from joinedup.insight import name_and_date
from joinedup.insight.person_search import PAGE_SIZE, Found, SearchError, parse_query, search_persons
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors
from joinedup.web.insight_pages import (
    BASE,
    PERSON_ID,
    has_store,
    record_action,
    require_store,
    store,
)
from joinedup.web.templating import render

router = APIRouter()


# --- persons (person-level) ---------------------------------------------------------------


def _cohort_members(con: duckdb.DuckDBPyConnection, name: str) -> tuple[str, list[object]] | None:
    """SQL selecting the persons of a cohort, or None for a cohort not defined. The one place
    the persons list asks the cohort engine (swap in its ``persons_in`` when it lands)."""
    found = {c.name: c for c in cohort_mod.cohorts(con)}
    return cohort_mod.cohort_members_sql(found[name]) if name in found else None


def _search(
    request: Request, con: duckdb.DuckDBPyConnection, page_size: int | None
) -> tuple[dict[str, Any], Found | None]:
    """Read ?q=, ?cohort= and ?page=; the page's context and what was found (None on error)."""
    q = request.query_params.get("q", "").strip()[:200]
    cohort = request.query_params.get("cohort", "").strip()
    raw_page = request.query_params.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() else 1
    errors = FormErrors()
    cohorts = cohort_mod.cohorts(con)
    members = None
    if cohort:
        members = _cohort_members(con, cohort)
        if members is None:
            errors.add("cohort", "Choose a cohort from the list")
    try:
        query = parse_query(q)
    except SearchError as exc:
        errors.add("q", str(exc))
        query = None
    found = None
    if not errors and query is not None:
        found = search_persons(con, query, members=members, page=page, page_size=page_size)
    context = {"q": q, "cohort": cohort, "cohorts": cohorts, "errors": errors,
               "query": query, "found": found,
               "cohort_label": next((c.label for c in cohorts if c.name == cohort), None)}  # fmt: skip
    return context, found


def _page_url(slug: str, q: str, cohort: str, page: int) -> str:
    params = {k: v for k, v in (("q", q), ("cohort", cohort)) if v}
    if page > 1:
        params["page"] = str(page)
    return f"/places/{slug}/insight/persons" + (f"?{urlencode(params)}" if params else "")


def _pagination(slug: str, q: str, cohort: str, found: Found) -> dict[str, Any] | None:
    """govukPagination parameters: numbered pages around the current one, first and last."""
    if found.pages <= 1:
        return None
    near = {1, found.page - 1, found.page, found.page + 1, found.pages}
    shown = sorted(n for n in near if 1 <= n <= found.pages)
    items: list[dict[str, Any]] = []
    for i, n in enumerate(shown):
        if i and n - shown[i - 1] > 1:
            items.append({"ellipsis": True})
        items.append({"number": n, "href": _page_url(slug, q, cohort, n), "current": n == found.page})
    out: dict[str, Any] = {"items": items, "landmarkLabel": "Pages of persons"}
    if found.page > 1:
        out["previous"] = {"href": _page_url(slug, q, cohort, found.page - 1)}
    if found.page < found.pages:
        out["next"] = {"href": _page_url(slug, q, cohort, found.page + 1)}
    return out


@router.get(BASE + "/persons", response_class=HTMLResponse)
def persons_page(
    request: Request,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    slug = actor.place.slug
    require_store(request, slug)
    with store(request, slug) as con:
        context, found = _search(request, con, PAGE_SIZE)
    record_action(request, session, actor, "insight.view.persons", f"place:{slug}",
                  query=context["q"], cohort=context["cohort"] or None,
                  page=found.page if found else None, count=found.total if found else None)  # fmt: skip
    q, cohort = context["q"], context["cohort"]
    export_params = urlencode({k: v for k, v in (("q", q), ("cohort", cohort)) if v})
    context.update(
        place=actor.place,
        pagination=_pagination(slug, q, cohort, found) if found else None,
        export_url=f"/places/{slug}/insight/persons.csv" + (f"?{export_params}" if export_params else ""),
        first=(found.page - 1) * PAGE_SIZE + 1 if found else 0,
    )
    return render(request, "insight/persons.html", context, status_code=400 if context["errors"] else 200)


@router.get(BASE + "/persons.csv")
def persons_csv(
    request: Request,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    """The whole current list (every page), audited with its query and count."""
    slug = actor.place.slug
    require_store(request, slug)
    with store(request, slug) as con:
        context, found = _search(request, con, None)
    if found is None:
        raise HTTPException(status_code=400)
    record_action(request, session, actor, "insight.export.persons", f"place:{slug}",
                  query=context["q"], cohort=context["cohort"] or None, count=found.total)  # fmt: skip
    body = rows_to_csv(["person_id", "services", "records"], found.rows)
    disposition = f'attachment; filename="{slug}-persons.csv"'
    return Response(body.encode("utf-8"), media_type="text/csv",
                    headers={"Content-Disposition": disposition})  # fmt: skip


@router.get(BASE + "/persons/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request,
    person_id: str,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    if not PERSON_ID.fullmatch(person_id) or not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with store(request, actor.place.slug) as con:
        # Each name once (as the partners spell it most often), with the services that
        # recorded it: the same person is usually written the same way by every record.
        # A previous surname (a maiden name) is part of the name a service recorded, as written.
        names = con.execute(
            "SELECT any_value(trim(coalesce(r.forename_raw, '') || ' ' || coalesce(r.surname_raw, '')) "
            "|| coalesce(' (previously ' || coalesce(r.previous_surname_raw, r.previous_surname) || ')', '') "
            "ORDER BY r.record_id) AS name, string_agg(DISTINCT s.service, ', ' ORDER BY s.service) "
            "FROM person_links l JOIN records r USING (source, record_id) "
            "JOIN sources s ON s.name = r.source WHERE l.person_id = ? "
            "GROUP BY coalesce(r.forename, ''), coalesce(r.surname, ''), coalesce(r.previous_surname, '') "
            "ORDER BY count(*) DESC, name",
            [person_id],
        ).fetchall()
        records = con.execute(
            "SELECT s.service, r.record_id, r.date_of_birth, "
            "r.sex, r.postcode, r.nhs_number, r.ni_number, r.event_date, r.need "
            "FROM person_links l JOIN records r USING (source, record_id) "
            "JOIN sources s ON s.name = r.source WHERE l.person_id = ? "
            "ORDER BY r.event_date NULLS LAST, s.service", [person_id],
        ).fetchall()  # fmt: skip
        household = _household(con, person_id)
        joined = name_and_date.joined_pairs(con, person_id)
        events = con.execute(
            "SELECT run_id, kind, person_id, other_person_id, n_records FROM person_events "
            "WHERE person_id = ? OR other_person_id = ? ORDER BY run_id", [person_id, person_id],
        ).fetchall()  # fmt: skip
    if not records:
        raise HTTPException(status_code=404)
    record_action(request, session, actor, "insight.view.person", f"person:{person_id}")
    return render(request, "insight/person.html", {
        "place": actor.place, "person_id": person_id, "records": records, "events": events,
        "names": names, "household": household, "joined": joined,
        "note": request.session.pop("person_note", None),
    })  # fmt: skip


def _household(con: Any, person_id: str) -> tuple[str, list[str]] | None:
    """The persons the person lived with in the newest year with data (Think Family)."""
    from joinedup.insight.households import household_of
    from joinedup.insight.periods import available_years

    years = available_years(con)
    return (years[0].label, household_of(con, person_id, years[0])) if years else None
