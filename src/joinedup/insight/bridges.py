"""Which pairs alone hold a person together: the bridges of the graph of its strong pairs.

The review queue ranks a pair inside a person by the records a "different people" decision
would move: none if the person's other pairs still join the two records, else the smaller
part it would cut off. Asked pair by pair, that rebuilt the person's graph for each of its
pairs in the band: 14,143 pairs took 2.5 s of the queue's 4 s on the synthetic place of a
million records. One depth-first walk per person (Tarjan's bridges, with each subtree's
size) answers for all its pairs at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["Cuts", "cuts"]


@dataclass
class Cuts:
    """A person's graph of strong pairs, walked once."""

    nodes: int  # records in any of the pairs
    component: dict[str, int] = field(default_factory=dict)  # record → its connected part
    sizes: list[int] = field(default_factory=list)  # records in each part
    sides: dict[tuple[str, str], int] = field(default_factory=dict)  # bridge (a, b) → records on a's side

    def split(self, a: str, b: str) -> tuple[bool, int]:
        """Whether the person's pairs, without a–b, leave a and b apart, and the smaller of
        the two sides (a's side against every other record in the pairs)."""
        if (a, b) in self.sides:
            seen = self.sides[(a, b)]
        else:
            ca, cb = self.component.get(a), self.component.get(b)
            if ca is not None and ca == cb:
                return False, 0
            seen = self.sizes[ca] if ca is not None else 1
        return True, min(seen, self.nodes - seen)


def cuts(edges: Sequence[tuple[str, str]]) -> Cuts:
    """Walk the graph of ``edges`` (pairs of record ids; repeats and order do not matter)."""
    adjacent: dict[str, list[str]] = {}
    for a, b in edges:
        # A pair given twice is listed twice; the walk never takes an edge back to the
        # record it came from, so a pair counts once, as dropping it drops every copy.
        if a != b:
            adjacent.setdefault(a, []).append(b)
            adjacent.setdefault(b, []).append(a)
    out = Cuts(nodes=len(adjacent))
    order: dict[str, int] = {}  # when the walk first reached each record
    low: dict[str, int] = {}  # the earliest record reachable from its subtree by one back edge
    size: dict[str, int] = {}
    found: list[tuple[str, str]] = []  # (parent, child) tree edges that are bridges
    for root in sorted(adjacent):
        if root in order:
            continue
        part = len(out.sizes)
        order[root] = low[root] = len(order)
        size[root], out.component[root] = 1, part
        # Iterative, as a person can hold thousands of records (Python's recursion would not).
        stack: list[tuple[str, str | None, Iterator[str]]] = [(root, None, iter(adjacent[root]))]
        while stack:
            node, parent, rest = stack[-1]
            for nxt in rest:
                if nxt == parent:
                    continue  # the tree edge back, and any copy of it
                if nxt in order:
                    low[node] = min(low[node], order[nxt])
                    continue
                order[nxt] = low[nxt] = len(order)
                size[nxt], out.component[nxt] = 1, part
                stack.append((nxt, node, iter(adjacent[nxt])))
                break
            else:
                stack.pop()
                if parent is not None:
                    low[parent] = min(low[parent], low[node])
                    size[parent] += size[node]
                    if low[node] > order[parent]:
                        found.append((parent, node))
        out.sizes.append(size[root])
    for parent, child in found:
        below = size[child]
        out.sides[(child, parent)] = below
        out.sides[(parent, child)] = out.sizes[out.component[child]] - below
    return out
