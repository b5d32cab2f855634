"""The survey disclosure rule on its own: which groups of a breakdown are hidden, and that
whatever the sizes, total minus the shown groups never singles out a small group."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from joinedup.surveys import scoring
from joinedup.surveys.disclosure import Table, hidden_groups, protect
from joinedup.surveys.instrument import load
from joinedup.surveys.results import jsonable
from tests.surveys.test_scoring import _everyone_says, _frame


def test_nothing_small_hides_nothing() -> None:
    assert hidden_groups([Table({"a": 9, "b": 6, "c": 5})], 5) == frozenset()


def test_a_lone_small_group_takes_the_smallest_other_group_with_it() -> None:
    assert hidden_groups([Table({"a": 9, "b": 6, "c": 4})], 5) == {"b", "c"}


def test_small_groups_together_below_the_minimum_take_another_group() -> None:
    assert hidden_groups([Table({"a": 2, "b": 2, "c": 7, "d": 30})], 5) == {"a", "b", "c"}


def test_a_small_group_outweighing_the_other_hidden_ones_takes_another() -> None:
    # Groups of 1 and 4 pool 5 people, but the 1 alone would pin the 4's score within 25
    # points: the 4 needs at least as much beside it.
    assert hidden_groups([Table({"a": 1, "b": 4, "c": 6, "d": 20})], 5) == {"a", "b", "c"}


def test_people_in_no_group_count_as_hidden() -> None:
    # Two people gave no partner: the total less the shown groups is their score, unless
    # a group is hidden with them.
    assert hidden_groups([Table({"a": 9, "b": 6}, unstated=2)], 5) == {"b"}


def test_small_in_one_figure_is_hidden_in_all() -> None:
    head = Table({"a": 9, "b": 6, "c": 20})
    one_line = Table({"a": 9, "b": 4, "c": 20})  # two of b skipped this component
    assert hidden_groups([head, one_line], 5) == {"a", "b"}


def test_weighted_areas_hide_one_heavy_enough_to_cover_the_small_one() -> None:
    # East has 2 answers but a large population weight: the smallest other area by answers
    # (West) weighs too little to hide East's figure, so the next area that does is taken.
    table = Table({"east": 2, "west": 8, "north": 40, "south": 60},
                  weights={"east": 3000.0, "west": 500.0, "north": 4000.0, "south": 5000.0})
    assert hidden_groups([table], 5) == {"east", "north"}


def test_everything_hidden_when_nothing_else_can_protect() -> None:
    assert hidden_groups([Table({"a": 3, "b": 1})], 5) == {"a", "b"}


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 30), min_size=1),
       st.integers(0, 6), st.integers(2, 10))
def test_total_minus_shown_never_singles_out_a_small_group(
        counts: dict[str, int], unstated: int, min_size: int) -> None:
    hidden = hidden_groups([Table(counts, unstated=unstated)], min_size)
    assert {g for g, n in counts.items() if 0 < n < min_size} <= hidden
    pool = [counts[g] for g in hidden if counts[g] > 0] + ([unstated] if unstated else [])
    everything = all(g in hidden for g, n in counts.items() if n > 0)
    if pool and not everything:
        assert len(pool) >= 2 and sum(pool) >= min_size
        assert all(sum(pool) - n >= n for n in pool if n < min_size)
        # A small group's size could be anything from 1 to the minimum less one.
        assert sum(pool) - (len(pool) - 1) >= min_size - 1


def test_protect_hides_scores_and_sizes_and_recomputes_the_range() -> None:
    inst = load("readiness")
    rows = ([_everyone_says("4", "5", partner="A")] * 9
            + [_everyone_says("2", "5", partner="B")] * 6
            + [_everyone_says("5", "5", partner="C")] * 4)
    result = scoring.readiness_results(inst, _frame(rows), 5)
    body = protect(jsonable(result), "readiness", 5)
    bp = body["by_partner"]
    assert bp["hidden"] == ["B", "C"]
    assert bp["counts"] == {"A": 9, "B": None, "C": None}
    for g in ("B", "C"):
        assert all(e["n"] is None and e["mean"] is None and not e["shown"]
                   for per in (bp["scores"][g], bp["gaps"][g]) for e in per.values())
    # Only A is shown: no range, no split, though B and C truly differ by 75 points.
    assert bp["ranges"]["overall"] is None and not bp["split"]["overall"]
