"""Clerical review of pairs the model is unsure of: the queue, one pair side by side with
the model's evidence, and the analyst's decision. Person-level: analysts only, each view
audited."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.insight import review, review_check
from joinedup.insight.pipeline import work_dir
from joinedup.insight.review_evidence import pair_evidence, side_by_side
from joinedup.insight.store import one
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors, form_data
from joinedup.web.insight_pages import BASE, PERSON_ID, record_action, require_store, settings_of, store
from joinedup.web.templating import render

router = APIRouter()

EFFECTS = {
    "join": "A “same person” decision would join two persons",
    "split": "A “different people” decision would split a person",
    "cut": "A “different people” decision would split a person at its weakest links",
}


@router.get(BASE + "/review", response_class=HTMLResponse)
def review_queue(
    request: Request,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    require_store(request, actor.place.slug)
    with store(request, actor.place.slug) as con:
        threshold = review.current_threshold(con)
        items = review.queue(con, threshold)
        low, high = review.band(con)
        estimate = review_check.estimate(con, threshold)
    record_action(request, session, actor, "insight.view.review", f"place:{actor.place.slug}",
                  pairs=len(items))  # fmt: skip
    return render(request, "insight/review.html", {
        "place": actor.place, "items": items, "effects": EFFECTS, "low": low, "high": high,
        "estimate": estimate, "flash": request.session.pop("review_flash", None),
        "note": request.session.pop("review_note", None),
    })  # fmt: skip


@router.post(BASE + "/review/check")
def review_check_next(
    request: Request,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    """Draw the next pair of the check sample (a POST, so the CSRF check guards it: a draw
    changes the sample)."""
    slug = actor.place.slug
    require_store(request, slug)
    with store(request, slug) as con:
        try:
            pair = review_check.draw(con)
        except review_check.NothingToDraw as exc:
            request.session["review_note"] = str(exc)
            return RedirectResponse(f"/places/{slug}/insight/review", status_code=303)
    if pair is None:
        request.session["review_note"] = "Every pair in the band has been drawn for the check sample."
        return RedirectResponse(f"/places/{slug}/insight/review", status_code=303)
    record_action(request, session, actor, "insight.review.draw", f"pair:{pair[0]}~{pair[1]}")
    query = urlencode({"l": pair[0], "r": pair[1]})
    return RedirectResponse(f"/places/{slug}/insight/review/pair?{query}", status_code=303)


def _from_person(person: str | None) -> str | None:
    """The person whose page the pair was opened from (the back link and where a decision
    returns to), when the value is a person id; anything else is ignored."""
    return person if person and PERSON_ID.fullmatch(person) else None


def _pair_context(
    request: Request, actor: Actor, left: str, right: str, person: str | None = None
) -> dict[str, Any]:
    with store(request, actor.place.slug) as con:
        try:
            fields = side_by_side(con, left, right)
            evidence = pair_evidence(
                con, left, right, work_dir=work_dir(settings_of(request), actor.place.slug)
            )
        except review.ReviewError as exc:
            request.session["review_flash"] = str(exc)
            raise _Gone from exc
        decided = one(con.execute(
            "SELECT decision FROM review_decisions WHERE unique_id_l = ? AND unique_id_r = ?",
            list(review.ordered(left, right)),
        ))
        sampled = review_check.sampled(con, left, right)
    return {
        "place": actor.place, "left": left, "right": right, "fields": fields,
        "evidence": evidence, "decisions": review.DECISIONS,
        "decided": decided[0] if decided else None, "sampled": sampled, "person": person,
    }  # fmt: skip


class _Gone(Exception):
    """The pair's records are no longer held: back to the queue with a message."""


@router.get(BASE + "/review/pair", response_class=HTMLResponse)
def review_pair(
    request: Request,
    l: str,  # noqa: E741  (the pair's left and right record)
    r: str,
    person: str | None = None,
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    require_store(request, actor.place.slug)
    left, right = review.ordered(l, r)
    try:
        context = _pair_context(request, actor, left, right, _from_person(person))
    except _Gone:
        return RedirectResponse(f"/places/{actor.place.slug}/insight/review", status_code=303)
    record_action(request, session, actor, "insight.view.review_pair", f"pair:{left}~{right}")
    return render(request, "insight/review_pair.html", {**context, "errors": FormErrors()})


@router.post(BASE + "/review/pair", response_class=HTMLResponse)
def review_decide(
    request: Request,
    form: dict[str, str] = Depends(form_data),
    actor: Actor = Depends(requires(Capability.VIEW_PERSON_LEVEL)),
    session: Session = Depends(get_db),
) -> Response:
    slug = actor.place.slug
    require_store(request, slug)
    left, right = review.ordered(form.get("l", ""), form.get("r", ""))
    person = _from_person(form.get("person"))
    decision = form.get("decision", "")
    errors = FormErrors()
    if decision not in review.DECISIONS:
        errors.add("decision", "Choose same person, different people or not sure")
    else:
        with store(request, slug) as con:
            try:
                review.decide(con, left, right, decision, decided_by=actor.user.email)
            except review.ReviewError as exc:
                request.session["review_flash"] = str(exc)
                return RedirectResponse(f"/places/{slug}/insight/review", status_code=303)
    if errors:
        try:
            context = _pair_context(request, actor, left, right, person)
        except _Gone:
            return RedirectResponse(f"/places/{slug}/insight/review", status_code=303)
        record_action(request, session, actor, "insight.view.review_pair", f"pair:{left}~{right}")
        return render(request, "insight/review_pair.html", {**context, "errors": errors},
                      status_code=400)  # fmt: skip
    record_action(request, session, actor, "insight.review.decide", f"pair:{left}~{right}",
                  decision=decision)  # fmt: skip
    if person:
        effect = (
            "The pair stays in the review queue, marked not sure."
            if decision == "unsure"
            else "It changes the persons at the next link."
        )
        request.session["person_note"] = (
            f"Your decision on records {left.split('|', 1)[1]} and {right.split('|', 1)[1]} "
            f"({review.DECISIONS[decision].lower()}) is saved. {effect}"
        )
        return RedirectResponse(f"/places/{slug}/insight/persons/{person}", status_code=303)
    return RedirectResponse(f"/places/{slug}/insight/review#check", status_code=303)
