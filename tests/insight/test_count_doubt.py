"""Persons known to 3 or more services as the model expects them, its doubt allowed for:
checked by hand, against an exact enumeration of every way the doubtful pairs could fall,
with analysts' decisions, and as the dashboard may show it."""

from __future__ import annotations

import itertools
import math
import random

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from joinedup.insight import count_doubt, review
from joinedup.insight.disclosure_rule import DisclosureRule


def _place(
    con: duckdb.DuckDBPyConnection, persons: dict[str, str], pairs: list[tuple[str, str, float]]
) -> None:
    """Linked persons (``source|record`` → person) and the kept pairs with their probabilities."""
    con.executemany(
        "INSERT INTO person_links VALUES (?, ?, ?)",
        [[uid.split("|")[0], uid.split("|")[1], person] for uid, person in persons.items()],
    )
    con.executemany(
        "INSERT INTO link_pairs VALUES (1, ?, ?, ?, ?)",
        [[min(a, b), max(a, b), math.log2(p / (1 - p)) if p < 1 else 40.0, p] for a, b, p in pairs],
    )


# Two groups of three records, one in each of three services. a–b is certain and b–c at 0.6
# (below the threshold, so the linked persons are {a, b} and {c}); d, e and f are a triangle
# of pairs at 0.95, linked as one person.
PERSONS = {"s1|a": "P1", "s2|b": "P1", "s3|c": "P2", "s1|d": "P3", "s2|e": "P3", "s3|f": "P3"}
PAIRS = [("s1|a", "s2|b", 1.0), ("s2|b", "s3|c", 0.6),
         ("s1|d", "s2|e", 0.95), ("s2|e", "s3|f", 0.95), ("s1|d", "s3|f", 0.95)]  # fmt: skip
# By hand: the first group reaches 3 services when b–c joins (0.6); the triangle stays
# whole when at least two of its pairs join: 3 × 0.95² × 0.05 + 0.95³.
TRIANGLE = 3 * 0.95**2 * 0.05 + 0.95**3


def test_the_expected_count_matches_a_hand_calculation(store: duckdb.DuckDBPyConnection) -> None:
    _place(store, PERSONS, PAIRS)
    found = count_doubt.known_to_three(store, samples=4000, seed=1)
    assert found is not None
    assert found.linked == 1  # the triangle; a and b hold two services only
    assert found.doubtful_pairs == 4 and found.records_drawn == 6
    # 4,000 samples: the standard error is about 0.008, so 0.04 is five of them.
    assert found.expected == pytest.approx(0.6 + TRIANGLE, abs=0.04)


def test_the_same_data_give_the_same_figure(store: duckdb.DuckDBPyConnection) -> None:
    _place(store, PERSONS, PAIRS)
    first = count_doubt.known_to_three(store)
    again = count_doubt.known_to_three(store)
    assert first is not None and again is not None and first.expected == again.expected


def test_a_large_place_gives_the_same_figure_however_the_database_orders_its_rows(
    store: duckdb.DuckDBPyConnection,
) -> None:
    # Enough pairs for the database to join them in parallel, in whatever order its threads
    # finish: each pair must still take the same random number in every view.
    rng = np.random.default_rng(5)
    groups = 100_000  # of four records in four services, each record paired with the others
    ids = pa.array([f"s{i % 4}|r{i:06d}" for i in range(4 * groups)])
    store.register("_links", pa.table({
        "source": pc.utf8_slice_codeunits(ids, 0, 2), "record_id": pc.utf8_slice_codeunits(ids, 3, 10),
        "person_id": ids,
    }))  # fmt: skip
    store.execute("INSERT INTO person_links SELECT * FROM _links")
    base = np.repeat(np.arange(groups) * 4, 6)
    left = base + np.tile([0, 0, 0, 1, 1, 2], groups)
    right = base + np.tile([1, 2, 3, 2, 3, 3], groups)
    store.register("_pairs", pa.table({
        "l": ids.take(pa.array(left)), "r": ids.take(pa.array(right)),
        "p": rng.uniform(0.5, 0.999, len(left)),
    }))  # fmt: skip
    store.execute("INSERT INTO link_pairs SELECT 1, l, r, log2(p / (1 - p)), p FROM _pairs")
    store.execute("SET threads = 4")
    first = count_doubt.known_to_three(store, samples=2)
    again = count_doubt.known_to_three(store, samples=2)
    assert first is not None and again is not None and first.expected == again.expected


def test_analysts_decisions_are_honoured_in_every_draw(store: duckdb.DuckDBPyConnection) -> None:
    _place(store, PERSONS, PAIRS)
    review.ensure_schema(store)
    # "Same person" for b–c joins it in every draw; "different people" for d and f cannot be
    # mended by the chain through e, so the triangle never holds three services.
    store.executemany(
        "INSERT INTO review_decisions VALUES (?, ?, ?, 'analyst', now(), ?)",
        [["s2|b", "s3|c", "same", 0.6], ["s1|d", "s3|f", "different", 0.95]],
    )
    found = count_doubt.known_to_three(store, samples=200)
    assert found is not None and found.expected == 1.0


def test_pairs_of_removed_records_are_not_drawn(store: duckdb.DuckDBPyConnection) -> None:
    _place(store, PERSONS, [*PAIRS, ("s3|c", "s4|gone", 0.7), ("s4|gone", "s1|d", 0.99)])
    found = count_doubt.known_to_three(store, samples=4000, seed=1)
    assert found is not None and found.linked == 1
    assert found.expected == pytest.approx(0.6 + TRIANGLE, abs=0.04)


def test_nothing_linked_gives_no_figure(store: duckdb.DuckDBPyConnection) -> None:
    assert count_doubt.known_to_three(store) is None


def _exact(records: dict[str, str], pairs: list[tuple[str, str, float]]) -> float:
    """The expectation by enumerating every subset of the pairs, with its own union-find."""
    total = 0.0
    for taken in itertools.product((False, True), repeat=len(pairs)):
        chance = math.prod(p if t else 1 - p for (_a, _b, p), t in zip(pairs, taken, strict=True))
        parent = {u: u for u in records}
        for (a, b, _p), t in zip(pairs, taken, strict=True):
            if t:
                parent[_root(parent, a)] = _root(parent, b)
        services: dict[str, set[str]] = {}
        for u in records:
            services.setdefault(_root(parent, u), set()).add(u.split("|")[0])
        total += chance * sum(len(s) >= 3 for s in services.values())
    return total


def _root(parent: dict[str, str], u: str) -> str:
    while parent[u] != u:
        u = parent[u]
    return u


def test_the_expected_count_matches_an_exact_enumeration(store: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(28)  # a place whose expectation is far from a whole number
    records = [f"s{rng.randint(1, 4)}|r{i}" for i in range(9)]
    chosen = rng.sample(list(itertools.combinations(records, 2)), 10)
    pairs = [(a, b, round(rng.uniform(0.5, 0.99), 3)) for a, b in chosen]
    # Each record its own linked person: what was linked does not change the expectation.
    _place(store, {u: f"P{i}" for i, u in enumerate(records)}, pairs)
    exact = _exact(dict.fromkeys(records, ""), pairs)
    found = count_doubt.known_to_three(store, samples=4000, seed=3)
    assert found is not None
    assert abs(exact - round(exact)) > 0.4  # so the draws matter (exact: 0.548)
    # Its standard deviation is at most about 0.5 a draw, so 4,000 draws give a standard
    # error under 0.008: 0.05 is six of them.
    assert found.expected == pytest.approx(exact, abs=0.05)


def test_the_dashboard_shows_it_as_every_count_is_shown() -> None:
    rule = DisclosureRule()
    doubt = count_doubt.CountDoubt(
        linked=42_450, expected=42_861.4, samples=10, doubtful_pairs=1, records_drawn=2
    )
    assert count_doubt.expected_shown(doubt, rule) == 42_860  # rounded to 5, as the linked count is
    small = count_doubt.CountDoubt(linked=3, expected=6.2, samples=10, doubtful_pairs=1, records_drawn=2)
    assert count_doubt.expected_shown(small, rule) is None  # 1 to 7 are hidden
    assert count_doubt.expected_shown(None, rule) is None
