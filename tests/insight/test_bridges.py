"""One walk of a person's strong pairs answers, for every pair, what asking pair by pair did.

The reference is the review queue's earlier rule, written plainly: drop the pair, walk
from its first record, and see whether the second is reached; if not, the smaller part is
the first record's side against every other record in the pairs.
"""

from __future__ import annotations

import random

import pytest

from joinedup.insight.bridges import cuts


def _asked_pair_by_pair(edges: list[tuple[str, str]], pair: tuple[str, str]) -> tuple[bool, int]:
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        if {a, b} == set(pair):
            continue
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set()).add(a)
    seen = {pair[0]}
    todo = [pair[0]]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    if pair[1] in seen:
        return False, 0
    nodes = {n for e in edges for n in e}
    return True, min(len(seen), len(nodes) - len(seen))


def test_a_chain_and_a_triangle_by_hand() -> None:
    # a–b–c–d in a line, and d–e–f–d a triangle: a–b, b–c and c–d hold it together.
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "f"), ("d", "f")]
    walked = cuts(edges)
    assert walked.split("a", "b") == (True, 1)
    assert walked.split("b", "a") == (True, 1)
    assert walked.split("b", "c") == (True, 2)
    assert walked.split("c", "d") == (True, 3)
    assert walked.split("d", "e") == (False, 0)
    assert walked.split("a", "f") == (False, 0)  # not a pair, but joined by others


@pytest.mark.parametrize("seed", range(60))
def test_one_walk_answers_as_asking_pair_by_pair(seed: int) -> None:
    rng = random.Random(seed)
    records = [f"r{i:02d}" for i in range(rng.randint(2, 25))]
    edges = []
    for _ in range(rng.randint(1, 2 * len(records))):
        a, b = rng.sample(records, 2)
        edges.append((a, b))
        if rng.random() < 0.1:
            edges.append((b, a))  # the same pair again, the other way round
    walked = cuts(edges)
    # Every pair of the graph, either way round, and pairs that are not in it.
    asked = edges + [(b, a) for a, b in edges] + [tuple(rng.sample(records, 2)) for _ in range(10)]
    for a, b in asked:
        assert walked.split(a, b) == _asked_pair_by_pair(edges, (a, b)), (edges, (a, b))


def test_a_person_of_many_records_is_walked_without_recursion() -> None:
    chain = [(f"r{i:05d}", f"r{i + 1:05d}") for i in range(20_000)]
    walked = cuts(chain)
    assert walked.split("r00000", "r00001") == (True, 1)
    assert walked.split("r10000", "r10001") == (True, 10_000)
