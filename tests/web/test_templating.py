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


def test_a_cohort_named_after_partners_keeps_their_capitals() -> None:
    """A cohort's rules, as the cohorts page writes them, keep partner names as written;
    Jinja's own capitalize lower-cased all but the first letter."""
    from joinedup.insight.cohort_rules import Cohort

    cohort = Cohort("c", "C", (), 0, False, partners=("Northbrook NHS Trust", "Jobcentre Plus"))
    page = env.from_string('{{ c.describe()|join("; ")|sentence_case }}').render(c=cohort)
    assert page == "Known to Northbrook NHS Trust and Jobcentre Plus"
    assert env.filters["sentence_case"](None) == ""


def test_no_template_lower_cases_what_follows_a_first_letter() -> None:
    from joinedup.web.templating import TEMPLATES_DIR

    users = [p.name for p in TEMPLATES_DIR.rglob("*.html") if "|capitalize" in p.read_text()]
    assert users == []
