"""How records are joined in a place, changed on the web: the review band and the rule that
joins a record holding only a name and a date of birth. Analysts only (they run linkage);
each change is written to the audit log. The threshold is not here: it belongs to a run
(``joinedup link --threshold``), and a run at another one re-clusters every person."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from joinedup.insight import name_and_date, review, review_check
from joinedup.places.roles import Capability
from joinedup.web.authz import Actor, get_db, requires
from joinedup.web.forms import FormErrors, form_data
from joinedup.web.insight_pages import BASE, record_action, require_store, store
from joinedup.web.templating import render

router = APIRouter()


def _percent(value: float) -> str:
    """A probability as the percentage a person would type (50, 99.9)."""
    return f"{100 * value:.4g}"


def _read_percent(text: str) -> float | None:
    """A percentage from 0 to 100 as typed ("50", "99.9", "95%"), as a probability."""
    try:
        value = float(text.strip().removesuffix("%").strip())
    except ValueError:
        return None
    return round(value / 100, 10) if 0 <= value <= 100 else None  # 99.9 is 0.999, not 0.99900…01


def _page(
    request: Request, actor: Actor, values: dict[str, str], errors: FormErrors, status: int = 200
) -> Response:
    context = {"place": actor.place, "values": values, "errors": errors}
    return render(request, "insight/rules.html", context, status_code=status)


@router.get(BASE + "/linkage-rules", response_class=HTMLResponse)
def rules_page(request: Request, actor: Actor = Depends(requires(Capability.RUN_INSIGHT))) -> Response:
    require_store(request, actor.place.slug)
    with store(request, actor.place.slug) as con:
        low, high = review.band(con)
        joining = name_and_date.rule_on(con)
    values = {"low": _percent(low), "high": _percent(high), "name_and_date": "on" if joining else "off"}
    return _page(request, actor, values, FormErrors())


@router.post(BASE + "/linkage-rules", response_class=HTMLResponse)
def rules_submit(
    request: Request,
    form: dict[str, str] = Depends(form_data),
    actor: Actor = Depends(requires(Capability.RUN_INSIGHT)),
    session: Session = Depends(get_db),
) -> Response:
    slug = actor.place.slug
    require_store(request, slug)
    values = {k: form.get(k, "").strip() for k in ("low", "high", "name_and_date")}
    errors = FormErrors()
    ends: dict[str, float] = {}
    for end in ("low", "high"):
        read = _read_percent(values[end])
        if read is None:
            example = "50" if end == "low" else "95"
            message = f"Enter the {end} end of the band as a percentage from 0 to 100, for example {example}"
            errors.add(end, message)
        else:
            ends[end] = read
    if len(ends) == 2 and ends["low"] >= ends["high"]:
        errors.add("low", "The low end of the band must be below the high end")
    if values["name_and_date"] not in {"on", "off"}:
        errors.add("name_and_date", "Choose whether a record with only a name and a date of birth is joined")
    if errors:
        return _page(request, actor, values, errors, 400)
    with store(request, slug) as con:
        set_aside = review_check.change_band(con, ends["low"], ends["high"])
        name_and_date.set_rule(con, values["name_and_date"] == "on")
        # Against the persons as linked, not the setting before: off and on again before any
        # link leaves nothing to re-link.
        relink = name_and_date.rule_changed(con) is not None
    record_action(
        request, session, actor, "insight.linkage_rules", f"place:{slug}",
        band_low=ends["low"], band_high=ends["high"], name_and_date=values["name_and_date"],
    )  # fmt: skip
    request.session["runs_note"] = _saved(set_aside, relink)
    return RedirectResponse(f"/places/{slug}/insight/runs#rules", status_code=303)


def _saved(set_aside: int, relink: bool) -> str:
    said: list[str] = ["How records are joined here is saved."]
    if set_aside:
        draws = "draw" if set_aside == 1 else "draws"
        said.append(f"The band reaches further than before, so the check sample starts again ({set_aside} "
                    f"earlier {draws} set aside; decisions are kept).")  # fmt: skip
    if relink:
        said.append("The next link runs in full once, with the stored model, so that every person "
                    "follows the rule as it is now.")  # fmt: skip
    return " ".join(said)
