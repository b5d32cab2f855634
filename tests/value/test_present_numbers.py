"""How the account page writes numbers: a value that rounds to nothing carries no minus sign
(the demo's page showed a drug treatment effect of "−0.00", which reads as a fall)."""

from __future__ import annotations

import pytest

from joinedup.value.present import SUPPRESSED, money, number


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (-0.004, 2, "0.00"),
        (-0.0, 2, "0.00"),
        (-0.005001, 2, "−0.01"),
        (-0.04, 2, "−0.04"),
        (0.04, 2, "0.04"),
        (-1234.56, 1, "−1,234.6"),
        (-0.4, 0, "0"),
    ],
)
def test_number(value: float, places: int, text: str) -> None:
    assert number(value, places) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(-0.4, "£0"), (-3_800, "−£3,800"), (144_500, "£144,500"), (0, "£0"), (-0.6, "−£1")],
)
def test_money(value: float, text: str) -> None:
    assert money(value) == text


def test_hidden_stays_hidden() -> None:
    assert number(None) == SUPPRESSED and money(None) == SUPPRESSED
