"""Clustering with cannot-links gives the greedy rebuild the clusters module describes,
however many cannot-links a component holds.

The reference here is the rule written plainly: must-links first, then pairs from the
strongest down (ties by the records' ids), each refused if a cannot-link would end up inside
one group, checked by scanning every cannot-link. ``clusters`` keeps, per group, the groups
it may not join, so that a component built to hold hundreds of thousands of cannot-links
(``bench/conflict_star.py``) is rebuilt in seconds rather than minutes; these tests hold it
to the plain rule.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from joinedup.insight.clusters import cluster_records, matched_share

Pair = tuple[str, str]


def _reference(
    ids: list[str], pairs: list[tuple[str, str, float]], must: list[Pair], cannot: list[Pair]
) -> set[frozenset[str]]:
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    def join(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra == rb:
            return
        if any({find(x), find(y)} == {ra, rb} for x, y in cannot):
            return
        parent[rb] = ra

    position = {u: n for n, u in enumerate(ids)}
    for a, b in sorted(must, key=lambda p: sorted((position[p[0]], position[p[1]]))):
        join(a, b)
    for a, b, _w in sorted(pairs, key=lambda p: (-p[2], min(p[0], p[1]), max(p[0], p[1]))):
        join(a, b)
    groups: dict[str, set[str]] = {}
    for u in ids:
        groups.setdefault(find(u), set()).add(u)
    return {frozenset(g) for g in groups.values()}


def _clustered(
    ids: list[str], pairs: list[tuple[str, str, float]], must: list[Pair], cannot: list[Pair]
) -> set[frozenset[str]]:
    table = pa.table({
        "unique_id_l": [a for a, _, _ in pairs], "unique_id_r": [b for _, b, _ in pairs],
        "match_weight": [w for _, _, w in pairs], "match_probability": [0.99] * len(pairs),
    })  # fmt: skip
    got = cluster_records(ids, table, 0.9, must_link=must, cannot_link=cannot)
    groups: dict[str, set[str]] = {}
    for u, c in zip(got.column("unique_id").to_pylist(), got.column("cluster_id").to_pylist(), strict=True):
        groups.setdefault(c, set()).add(u)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("seed", range(40))
def test_the_rebuild_is_the_plain_greedy_rule(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(5, 40)
    # Sorted, as the link passes them: ties are broken by position, which is then by id.
    ids = sorted(f"r{n:03d}" for n in rng.sample(range(1000), n))
    pairs = []
    for _ in range(rng.randint(n, 3 * n)):
        a, b = rng.sample(ids, 2)
        pairs.append((a, b, float(rng.choice([2, 3, 5, 5, 8, 13]))))  # ties on purpose
    cannot: list[Pair] = [(a, b) for a, b in (rng.sample(ids, 2) for _ in range(rng.randint(1, n)))]
    must: list[Pair] = [(a, b) for a, b in (rng.sample(ids, 2) for _ in range(rng.randint(0, 4)))]
    assert _clustered(ids, pairs, must, cannot) == _reference(ids, pairs, must, cannot)


def test_a_star_of_different_people_through_one_record() -> None:
    """The attack's shape: many records, each its own person, all strongly joined to one
    record that holds no identifier, every pair of them a cannot-link. Each keeps its own
    person except the one with the strongest link, which keeps the bridge."""
    spokes = [f"s{i:04d}" for i in range(300)]
    ids = ["bridge", *spokes]
    pairs = [("bridge", s, 10.0 + i / 1000) for i, s in enumerate(spokes)]
    cannot = [(a, b) for n, a in enumerate(spokes) for b in spokes[n + 1 :]]  # 44,850
    got = _clustered(ids, pairs, [], cannot)
    assert frozenset({"bridge", spokes[-1]}) in got
    assert len(got) == len(spokes)


def test_a_cluster_is_named_by_its_smallest_id_whether_the_ids_come_in_order_or_not() -> None:
    # Ids in order take a shortcut (a cluster's first id is its smallest); shuffled ids the
    # grouped minimum. Both must name every cluster alike, and pairs naming a record not
    # among the ids are ignored.
    rng = random.Random(3)
    ids = [f"s{rng.randrange(3)}|{i:03d}" for i in range(200)]
    pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(150)] + [("gone|1", ids[0])]
    table = pa.table({
        "unique_id_l": [a for a, _ in pairs], "unique_id_r": [b for _, b in pairs],
        "match_weight": [5.0] * len(pairs), "match_probability": [0.99] * len(pairs),
    })  # fmt: skip

    def named(order: list[str] | pa.ChunkedArray) -> dict[str, str]:
        out = cluster_records(order, table, 0.9)
        records, clusters = out.column("unique_id").to_pylist(), out.column("cluster_id").to_pylist()
        return dict(zip(records, clusters, strict=True))

    in_order = named(sorted(ids))
    shuffled = list(ids)
    rng.shuffle(shuffled)
    assert named(shuffled) == in_order
    assert named(pa.chunked_array([sorted(ids)[:70], sorted(ids)[70:]])) == in_order
    groups: dict[str, list[str]] = {}
    for record, cluster in in_order.items():
        groups.setdefault(cluster, []).append(record)
    assert all(cluster == min(members) for cluster, members in groups.items())
    assert len(groups) < len(ids)
    with pytest.raises(ValueError, match="unique"):
        cluster_records([ids[0], ids[0]], table, 0.9)


def test_matched_share_counts_records_in_a_person_with_another() -> None:
    # a and b together, c alone, d, e and f together; in two chunks, as runs pass them.
    clusters = pa.concat_tables([
        pa.table({"unique_id": ["a", "b", "c"], "cluster_id": ["1", "1", "2"]}),
        pa.table({"unique_id": ["d", "e", "f"], "cluster_id": ["3", "3", "3"]}),
    ])  # fmt: skip
    assert matched_share(clusters) == 5 / 6
    assert matched_share(clusters, among={"c", "d", "not linked"}) == 1 / 2
    assert matched_share(clusters, among=set()) == 0.0
    assert matched_share(clusters.slice(0, 0)) == 0.0
