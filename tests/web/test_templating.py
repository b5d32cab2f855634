"""Template filters: a missing optional value never breaks a page (issue 7, section 4)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from joinedup.web.templating import env


@pytest.mark.parametrize("missing", [None, pd.NaT, float("nan")])
def test_date_filters_show_nothing_for_a_missing_value(missing: object) -> None:
    # pandas hands templates NaT for an empty date: it is 'true' in an if, and has no strftime.
    assert env.filters["govdate"](missing) == ""
    assert env.filters["govdatetime"](missing) == ""


def test_date_filters_write_dates_as_people_do() -> None:
    assert env.filters["govdate"](date(2027, 3, 31)) == "31 March 2027"
    assert env.filters["govdatetime"](datetime(2026, 12, 2, 13, 5)) == "2 December 2026 at 1:05pm"
