"""Person-level pages: the persons list and one person's records and events. Analysts only;
each view is written to the audit log."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from joinedup.insight import cohorts as cohort_mod
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.insight_pages import (
    BASE,
    has_store,
    record_action,
    store,
)
from joinedup.web.templating import render

router = APIRouter()



# --- persons (person-level) ---------------------------------------------------------------


@router.get(BASE + "/persons", response_class=HTMLResponse)
def persons_page(
    request: Request,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
    cohort: str = "smd3",
) -> Response:
    if not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with store(request, actor.place.slug) as con:
        found = {c.name: c for c in cohort_mod.cohorts(con)}
        if cohort not in found:
            raise HTTPException(status_code=404)
        sql, params = cohort_mod.cohort_members_sql(found[cohort])
        persons = con.execute(
            f"SELECT l.person_id, count(*) AS records, count(DISTINCT l.source) AS services "
            f"FROM person_links l WHERE l.person_id IN ({sql}) GROUP BY l.person_id "
            f"ORDER BY services DESC, records DESC, l.person_id LIMIT 200", params,
        ).fetchall()  # fmt: skip
    record_action(request, session, actor, "insight.view.persons", f"cohort:{cohort}")
    return render(request, "insight/persons.html", {
        "place": actor.place, "persons": persons, "cohort": found[cohort],
        "cohorts": list(found.values()),
    })  # fmt: skip


@router.get(BASE + "/persons/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request,
    person_id: str,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    if not re.fullmatch(r"P[0-9]{8}", person_id) or not has_store(request, actor.place.slug):
        raise HTTPException(status_code=404)
    with store(request, actor.place.slug) as con:
        records = con.execute(
            "SELECT s.service, r.record_id, r.forename_raw, r.surname_raw, r.date_of_birth, "
            "r.sex, r.postcode, r.nhs_number, r.ni_number, r.event_date, r.need "
            "FROM person_links l JOIN records r USING (source, record_id) "
            "JOIN sources s ON s.name = r.source WHERE l.person_id = ? "
            "ORDER BY r.event_date NULLS LAST, s.service", [person_id],
        ).fetchall()  # fmt: skip
        events = con.execute(
            "SELECT run_id, kind, person_id, other_person_id, n_records FROM person_events "
            "WHERE person_id = ? OR other_person_id = ? ORDER BY run_id", [person_id, person_id],
        ).fetchall()  # fmt: skip
    if not records:
        raise HTTPException(status_code=404)
    record_action(request, session, actor, "insight.view.person", f"person:{person_id}")
    return render(request, "insight/person.html", {
        "place": actor.place, "person_id": person_id, "records": records, "events": events,
    })  # fmt: skip
