"""Clusters of records joined by scored pairs, honouring analysts' review decisions.

Without decisions a person is a connected component of the pairs at or above the
threshold. Analysts' decisions, and the model's word on records holding different
identifiers (``conflicts``), add two constraints:

* **must-link** ("same person"): the pair joins whatever its score;
* **cannot-link** ("different people"): the two records never share a person, even when a
  chain of other pairs joins them.

When a component holds a cannot-link pair, it is rebuilt greedily: must-links first, then
the remaining pairs from the strongest match weight down (ties by record ids), each pair
joining its two groups unless that would put a cannot-link pair in one group. So the
weakest links of the chain are the ones given up, and the result does not depend on the
order the pairs arrived in – which is what lets the incremental path reproduce a full
re-link. A must-link that contradicts a cannot-link through other must-links (A=B, B=C,
yet A≠C) is skipped for the pair that comes later in that order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["cluster_positions", "cluster_records", "joined", "matched_share", "position_pairs"]

Pair = tuple[str, str]


class _Groups:
    """Union-find over a component's record positions that refuses joins a cannot-link
    forbids. Each group's root keeps the roots of the groups it may not join (``apart``),
    merged smaller into larger, so a join costs no scan of the cannot-links: a component
    built to hold hundreds of thousands of them (thousands of records with different NHS
    numbers joined through one record holding none) took minutes with a scan per join."""

    def __init__(self, n: int, cannot: list[tuple[int, int]]) -> None:
        self.parent = list(range(n))
        self.apart: dict[int, set[int]] = {}
        for x, y in cannot:
            self.apart.setdefault(x, set()).add(y)
            self.apart.setdefault(y, set()).add(x)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def join(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        kept, gone = self.apart.get(ra, set()), self.apart.get(rb, set())
        if rb in kept:
            return False
        if len(gone) > len(kept):  # the larger set stays; which root survives changes no group
            ra, rb, kept, gone = rb, ra, gone, kept
        self.parent[rb] = ra
        if gone:
            for other in gone:
                neighbours = self.apart[other]
                neighbours.discard(rb)
                neighbours.add(ra)
            kept |= gone
            self.apart[ra] = kept
            del self.apart[rb]
        return True


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    return np.asarray(labels)


def _rebuild(
    labels: np.ndarray,
    conflicted: list[int],
    left: np.ndarray,
    right: np.ndarray,
    weights: np.ndarray,
    must: list[tuple[int, int]],
    cannot: list[tuple[int, int]],
    ids: pa.Array,
) -> np.ndarray:
    """The labels with each conflicted component rebuilt greedily (see the module's
    docstring). Members and pairs are found by sorting once: a scan of every pair per
    component took 14 s for the 1,600 components a million records can hold."""
    labels = labels.copy()
    next_label = int(labels.max()) + 1
    wanted = np.asarray(conflicted)
    by_label = np.argsort(labels, kind="stable")
    member_bounds = np.searchsorted(labels[by_label], np.stack([wanted, wanted + 1]))
    pair_label = labels[left]  # both ends of a pair share the component
    by_pair = np.argsort(pair_label, kind="stable")
    pair_bounds = np.searchsorted(pair_label[by_pair], np.stack([wanted, wanted + 1]))
    cannot_by: dict[int, list[tuple[int, int]]] = {}
    for i, j in cannot:
        if labels[i] == labels[j]:
            cannot_by.setdefault(int(labels[i]), []).append((i, j))
    must_by: dict[int, list[tuple[int, int]]] = {}
    for i, j in must:
        must_by.setdefault(int(labels[i]), []).append((i, j))
    for k, component in enumerate(conflicted):
        members = by_label[member_bounds[0][k] : member_bounds[1][k]]
        local = {int(p): n for n, p in enumerate(members)}
        groups = _Groups(len(members), [(local[i], local[j]) for i, j in cannot_by[component]])
        for i, j in must_by.get(component, []):
            groups.join(local[i], local[j])
        inside = by_pair[pair_bounds[0][k] : pair_bounds[1][k]]
        # Strongest first; ties broken by the records' ids so the order is the data's.
        names = dict(zip(members.tolist(), ids.take(pa.array(members)).to_pylist(), strict=True))
        order = sorted(
            inside.tolist(),
            key=lambda q: (-float(weights[q]), names[int(min(left[q], right[q]))],
                           names[int(max(left[q], right[q]))]),
        )  # fmt: skip
        for q in order:
            groups.join(local[int(left[q])], local[int(right[q])])
        roots = np.array([groups.find(n) for n in range(len(members))])
        for root in np.unique(roots)[1:]:
            labels[members[roots == root]] = next_label
            next_label += 1
    return labels


def cluster_records(
    ids: Sequence[str] | pa.ChunkedArray | pa.Array,
    pairs: pa.Table,
    threshold: float,
    *,
    must_link: Iterable[Pair] = (),
    cannot_link: Iterable[Pair] = (),
    conflicts: Callable[[pa.Table], Iterable[Pair]] | None = None,
) -> pa.Table:
    """(unique_id, cluster_id) for every id; a cluster is named by its smallest record id.

    pairs: unique_id_l, unique_id_r, match_weight, match_probability. Pairs or decisions
    naming an id outside ``ids`` are ignored (their records have gone). ``conflicts``, given
    the components (unique_id, cluster_id) before any is rebuilt, returns more cannot-links
    (``conflicts.KeptApart``: records the model says are different people).
    """
    # Positions are found with Arrow's hash lookups rather than a pandas index of Python
    # strings: building one and looking the pairs up in it took 1.3 s at a million records.
    id_array = _string_array(ids)
    n = len(id_array)
    if pc.count_distinct(id_array).as_py() != n:
        raise ValueError("record ids must be unique")
    strong = pairs.filter(pc.greater_equal(pairs.column("match_probability"), threshold))
    left = _positions(strong.column("unique_id_l"), id_array)
    right = _positions(strong.column("unique_id_r"), id_array)
    weights = strong.column("match_weight").to_numpy(zero_copy_only=False)
    keep = (left >= 0) & (right >= 0)
    left, right, weights = left[keep], right[keep], weights[keep]

    must = position_pairs(must_link, id_array)
    cannot = position_pairs(cannot_link, id_array)
    labels = joined(n, left, right, must)
    if conflicts is not None:
        found = conflicts(pa.table({"unique_id": id_array, "cluster_id": pa.array(labels)}))
        cannot = sorted(set(cannot) | set(position_pairs(found, id_array)))
    labels = _kept_apart(labels, left, right, weights, must, cannot, id_array)
    return pa.table({"unique_id": id_array, "cluster_id": _smallest_ids(id_array, labels)})


def position_pairs(decided: Iterable[Pair], id_array: pa.Array) -> list[tuple[int, int]]:
    """Pairs of record ids as (smaller, larger) positions in ``id_array``, each once; a pair
    naming a record not there (since removed), or one record twice, is left out."""
    pairs_ = list(decided)
    if not pairs_:
        return []
    # One lookup for all (one per pair cost 6 s for 50,000 cannot-links).
    i = _positions(pa.array([a for a, _ in pairs_], pa.string()), id_array)
    j = _positions(pa.array([b for _, b in pairs_], pa.string()), id_array)
    known = (i >= 0) & (j >= 0) & (i != j)
    low, high = np.minimum(i, j)[known].tolist(), np.maximum(i, j)[known].tolist()
    return sorted(set(zip(low, high, strict=True)))


def cluster_positions(
    ids: pa.Array,
    left: np.ndarray,
    right: np.ndarray,
    weights: np.ndarray,
    must: list[tuple[int, int]],
    cannot: list[tuple[int, int]],
) -> np.ndarray:
    """``cluster_records`` for pairs given as positions in ``ids`` (every pair taken, none
    filtered by a threshold): a label for each record. For callers that cluster the same
    records many times (``count_doubt``), which would otherwise look every id up each time."""
    labels = joined(len(ids), left, right, must)
    return _kept_apart(labels, left, right, weights, must, cannot, ids)


def joined(n: int, left: np.ndarray, right: np.ndarray, must: list[tuple[int, int]]) -> np.ndarray:
    """A label for each of ``n`` records: the connected parts of the pairs and must-links."""
    all_left = np.concatenate([left, np.array([m[0] for m in must], dtype=np.int64)])
    all_right = np.concatenate([right, np.array([m[1] for m in must], dtype=np.int64)])
    return _components(n, all_left.astype(np.int64), all_right.astype(np.int64))


def _kept_apart(
    labels: np.ndarray, left: np.ndarray, right: np.ndarray, weights: np.ndarray,
    must: list[tuple[int, int]], cannot: list[tuple[int, int]], ids: pa.Array,
) -> np.ndarray:  # fmt: skip
    conflicted = sorted({int(labels[i]) for i, j in cannot if labels[i] == labels[j]})
    if conflicted:
        labels = _rebuild(labels, conflicted, left, right, weights, must, cannot, ids)
    return labels


def _string_array(ids: Sequence[str] | pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if isinstance(ids, pa.Array):
        return ids.cast(pa.string())
    return pa.array(list(ids), pa.string())


def _positions(values: pa.Array | pa.ChunkedArray, id_array: pa.Array) -> np.ndarray:
    """Each value's position in ``id_array``, or -1 where it is not there."""
    found = pc.index_in(values, value_set=id_array).fill_null(-1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _smallest_ids(id_array: pa.Array, labels: np.ndarray) -> pa.Array:
    """Each record's cluster named by its smallest id (as Splink does), whatever order the
    ids came in."""
    n = len(id_array)
    if n < 2 or not pc.any(pc.less(id_array.slice(1), id_array.slice(0, n - 1))).as_py():
        # Ids in order, as both link paths give them: a cluster's smallest id is its first.
        _unique, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
        return id_array.take(pa.array(first[inverse]))
    # (Arrow's grouped min of strings: pandas falls back to Python for it, seconds at 1M.)
    table = pa.table({"unique_id": id_array, "label": pa.array(labels)})
    smallest = table.group_by("label").aggregate([("unique_id", "min")])
    position = pc.index_in(table.column("label"), value_set=smallest.column("label"))
    return pc.take(smallest.column("unique_id_min"), position).combine_chunks()


def matched_share(clusters: pa.Table, among: set[str] | None = None) -> float:
    """Share of records (or of those named) in a person with at least one other record."""
    if not clusters.num_rows:
        return 0.0
    # Each record's cluster size by counting codes (pandas' groupby took 0.7 s at 1M records).
    codes = pc.dictionary_encode(clusters.column("cluster_id").combine_chunks()).indices.to_numpy()
    sizes = np.bincount(codes)[codes]
    if among is not None:
        chosen = pc.is_in(clusters.column("unique_id"), value_set=pa.array(sorted(among), pa.string()))
        sizes = sizes[chosen.to_numpy(zero_copy_only=False)]
    return float((sizes > 1).mean()) if len(sizes) else 0.0
