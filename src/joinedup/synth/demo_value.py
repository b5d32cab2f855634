"""The demo's public value account: "Fulfilling lives in Northbrook" with its programme.

The programme's caseload extract is written beside the other extracts (by
synth/programme.py, with its planted effect and background trend) before they are ingested
and linked, so that it is ingested like any other source. Then the account is set up as an
analyst would (the caseload as the programme, the starter measures the place has events
for, three quarters either side of entry, crisis mental health contacts as the headline
measure, the charter's pooled money as the costs) and computed. Idempotent: an account
already set up is left alone, and computed only if it has no result yet.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from joinedup.synth.demo_place import PLACE_SLUG

__all__ = ["DEMO_PROGRAMME_COLLABORATION", "load_demo_value", "write_demo_programme"]

logger = logging.getLogger(__name__)

DEMO_PROGRAMME_COLLABORATION = "Fulfilling lives in Northbrook"
DEMO_PEOPLE = 2500  # as synth.insight.load_demo_insight
DEMO_SEED = 2025
# Large enough for the planted fall in crisis contacts to be found (its interval excludes
# zero; tests/value/test_synthetic_programme.py checks it on this very place): at 150 the
# comparison-group estimate was right but too uncertain to lead the account's sentence.
DEMO_PROGRAMME_SIZE = 400
# The measure the programme set out to change: the sentence leads with it.
DEMO_HEADLINE_MEASURE = "crisis_mental_health"


def write_demo_programme(settings: Any, place_slug: str = PLACE_SLUG) -> None:
    """Write the demo's extracts with the programme in them, unless they are there already
    (load_synthetic_place then ingests them as they are)."""
    from joinedup.synth.programme import generate_place_with_programme

    extracts = Path(settings.insight_dir) / f"{place_slug}-extracts"
    if not (extracts / "truth.csv").exists():
        generate_place_with_programme(DEMO_PEOPLE, extracts, seed=DEMO_SEED, size=DEMO_PROGRAMME_SIZE)


def write_demo_next_month(out: Path, month: int = 1) -> Any:
    """Next month's extracts of the demo place as `joinedup demo` loads it: the programme is
    planted exactly as in write_demo_programme, so last month's rows are the demo's own rows
    byte for byte and only the month's new rows are new to the incremental link."""
    from joinedup.synth.next_month import next_month
    from joinedup.synth.programme import planted_adjust

    return next_month(DEMO_PEOPLE, out, DEMO_SEED, month, adjust=planted_adjust(DEMO_PROGRAMME_SIZE))


def load_demo_value(settings: Any, place_slug: str = PLACE_SLUG) -> str:
    """Set up and compute the demo collaboration's account; returns what it did."""
    from joinedup.collaborations.models import Collaboration
    from joinedup.db.session import session_scope
    from joinedup.insight.context import place_context
    from joinedup.insight.pipeline import store_options
    from joinedup.insight.reference_data import seed_reference
    from joinedup.insight.store import open_store
    from joinedup.places.service import get_place
    from joinedup.synth.programme import PROGRAMME_SOURCE, WINDOW_QUARTERS
    from joinedup.value import measure_settings, programme_settings
    from joinedup.value import settings as vs
    from joinedup.value.catalogue import STARTER_MEASURES
    from joinedup.value.results import compute_for_publication, data_version, store_result

    rule = place_context(place_slug, settings).rule
    with session_scope(settings) as session:
        place = get_place(session, place_slug)
        collab = (
            next(
                (
                    c
                    for c in session.query(Collaboration).filter_by(place_id=place.id)
                    if c.name == DEMO_PROGRAMME_COLLABORATION
                ),
                None,
            )
            if place
            else None
        )
        if collab is None:
            return "no demo collaboration for the account"
        account = vs.account_of(session, collab)
        if account is not None and account.result is not None:
            return "the demo account is already computed"
        with open_store(Path(settings.insight_dir), place_slug, **store_options(settings)) as con:
            seed_reference(con)
            if account is None:
                account = vs.ensure_account(session, collab, by="demo")
                programme_settings.save_programme(
                    session, account, {"kind": "source", "source": PROGRAMME_SOURCE}, by="demo"
                )
                measures = [vs.measure_dict(spec) for spec in STARTER_MEASURES]
                measure_settings.save_measures(
                    session,
                    account,
                    [m for m in measures if not measure_settings.check_measure(con, m)],
                    by="demo",
                )
                before, after = WINDOW_QUARTERS
                vs.save_parameters(
                    session,
                    account,
                    {
                        **account.parameters,
                        "window_before": before,
                        "window_after": after,
                        "headline_measure": DEMO_HEADLINE_MEASURE,
                    },
                    by="demo",
                )
            # A measure too few events to publish is left out of the published money (and
            # the page says so): the demo keeps it, as an analyst may.
            result, without, withheld = compute_for_publication(con, account, rule)
            version = data_version(con)
        store_result(
            session,
            account,
            result,
            rule=rule,
            version=version,
            by="demo",
            without=without,
            withheld=withheld,
        )
    return "computed the demo's public value account"
