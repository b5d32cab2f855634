"""Bad input: each a clear ValueInputError naming the form field, before anything is computed,
and the store is left as it was."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from joinedup.synth.programme import PROGRAMME_SOURCE, StoreTruth
from joinedup.value.account import (
    CostLine,
    MeasureSpec,
    Parameters,
    Programme,
    ValueInputError,
    compute_account,
    programme_from_cohort,
    programme_from_source,
    validate_measure,
)  # fmt: skip
from tests.value.conftest import store_measures, store_params

Place = tuple[duckdb.DuckDBPyConnection, StoreTruth]


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]  # noqa: S608
                 for t in ("records", "person_links", "sources", "unit_costs"))  # fmt: skip


def test_a_measure_naming_a_service_with_no_events(small_place: Place) -> None:
    con, _ = small_place
    spec = MeasureSpec("evictions", "Evictions", ("Tenancy Enforcement",), unit_cost_code="HO1.0")
    with pytest.raises(ValueInputError) as err:
        validate_measure(con, spec)
    assert err.value.field == "services"
    assert "Tenancy Enforcement" in err.value.message and "no events" in err.value.message
    programme = programme_from_source(con, PROGRAMME_SOURCE)
    with pytest.raises(ValueInputError) as err:
        compute_account(con, programme, [*store_measures(), spec], store_params())
    assert err.value.field == "services"


def test_nights_of_events_without_end_dates(small_place: Place) -> None:
    con, _ = small_place
    spec = MeasureSpec(
        "nights", "Nights in custody", ("Northbrook Neighbourhood Policing",), statistic="nights"
    )
    with pytest.raises(ValueInputError) as err:
        validate_measure(con, spec)
    assert err.value.field == "statistic"


def test_an_unknown_unit_cost(small_place: Place) -> None:
    con, _ = small_place
    spec = MeasureSpec("ae", "A&E", ("Emergency Department",), unit_cost_code="NOPE1.0")
    with pytest.raises(ValueInputError) as err:
        validate_measure(con, spec)
    assert err.value.field == "unit_cost_code"


def test_a_programme_source_whose_persons_do_not_link(small_place: Place) -> None:
    con, _ = small_place
    before = _counts(con)
    con.execute("INSERT INTO sources (name, partner, service) VALUES ('orphans', 'Council', 'Orphan list')")
    con.execute(
        "INSERT INTO records (source, record_id, event_date) VALUES ('orphans', 'O1', DATE '2024-02-01')"
    )
    try:
        with pytest.raises(ValueInputError) as err:
            programme_from_source(con, "orphans")
        assert err.value.field == "source"
        assert "link" in err.value.message
        with pytest.raises(ValueInputError) as err:
            programme_from_source(con, "no_such_source")
        assert err.value.field == "source"
    finally:
        con.execute("DELETE FROM records WHERE source = 'orphans'")
        con.execute("DELETE FROM sources WHERE name = 'orphans'")
    assert _counts(con) == before


def test_an_entry_date_outside_the_data_window(small_place: Place) -> None:
    con, _ = small_place
    with pytest.raises(ValueInputError) as err:
        programme_from_cohort(con, "any2", date(2030, 1, 1))
    assert err.value.field == "entry_date"
    assert "2023" in err.value.message  # the message says what the window is
    # Inside the data, but too near its end to leave a window after entry.
    ids = [r[0] for r in con.execute("SELECT DISTINCT person_id FROM person_links LIMIT 50").fetchall()]
    late = Programme("late", tuple((i, date(2025, 3, 1)) for i in ids), "cohort:late")
    with pytest.raises(ValueInputError) as err:
        compute_account(con, late, store_measures(), store_params())
    assert err.value.field == "entry_date"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"discount_rate": 0.5}, "discount_rate"),
        ({"discount_rate": -0.01}, "discount_rate"),
        ({"costs": (CostLine("Council", 0, -5.0),)}, "costs"),
        ({"costs": (CostLine("Council", 40, 5.0),)}, "costs"),
        ({"costs": (CostLine("", 0, 5.0),)}, "costs"),
        ({"deadweight": 1.5}, "deadweight"),
        ({"attribution": -0.1}, "attribution"),
        ({"persistence_years": 0}, "persistence_years"),
        ({"window_before": 0}, "window_before"),
        ({"evidence_grade": 9}, "evidence_grade"),
        ({"agency_splits": {"CR2.0": {"NHS": 0.5, "Police": 0.4}}}, "agency_splits"),
        ({"ranges": {"discount_rate": (0.01, 0.5)}}, "ranges"),
        ({"mc_draws": 5}, "mc_draws"),
    ],
)
def test_parameters_out_of_range(small_place: Place, changes: dict[str, object], field: str) -> None:
    con, _ = small_place
    with pytest.raises(ValueInputError) as err:
        Parameters(**changes).validate()  # type: ignore[arg-type]
    assert err.value.field == field
    programme = programme_from_source(con, PROGRAMME_SOURCE)
    with pytest.raises(ValueInputError) as err:
        compute_account(con, programme, store_measures(), store_params(**changes))
    assert err.value.field == field


def test_a_cohort_too_small_to_publish(small_place: Place) -> None:
    con, _ = small_place
    before = _counts(con)
    programme = programme_from_source(con, PROGRAMME_SOURCE)
    tiny = Programme("tiny", programme.entries[:5], programme.origin)
    with pytest.raises(ValueInputError) as err:
        compute_account(con, tiny, store_measures(), store_params(min_persons=8))
    assert err.value.field == "programme"
    assert "8" in err.value.message
    assert _counts(con) == before


def test_no_measures_or_a_missing_price_year(small_place: Place) -> None:
    con, _ = small_place
    programme = programme_from_source(con, PROGRAMME_SOURCE)
    with pytest.raises(ValueInputError) as err:
        compute_account(con, programme, [], store_params())
    assert err.value.field == "measures"
    with pytest.raises(ValueInputError) as err:
        compute_account(con, programme, store_measures(), store_params(price_year="1999-00"))
    assert err.value.field == "price_year"
