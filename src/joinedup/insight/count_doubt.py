"""How many persons are known to 3 or more services once the model's doubt is allowed for.

The linked persons are one clustering: every pair at or above the threshold joins, every
pair below it does not. A pair the model puts at 0.8 is left out every time, though one in
five such pairs is, by the model's own word, two records of one person; a pair at 0.92 is
always taken, though one in twelve is two people. The errors do not cancel in a count of
persons known to several services. A person split in two may be lost from "known to 3 or
more" altogether, while two people merged are counted once more only if neither was known to
three already. On the synthetic place of a million records the linked persons counted 42,505
known to 3 or more against 42,710 in the truth (0.48% short; 0.61% before the model's
near-miss levels), and on the three hard places of 40,000 records 1.0–1.4% short
(docs/benchmarks.md).

So the count is also worked out over many ways the doubtful pairs could fall. In each
sample every kept pair (``link_pairs``, 0.5 and above) joins with the probability the model
gives it, analysts' decisions and the cannot-links an earlier run found are honoured as a
link honours them (``clusters``), and the persons known to 3 or more are counted. The
average over the samples is the count the model expects. Pairs at ``CERTAIN`` or above are
taken every time, so only the groups of records joined by a doubtful pair, or holding a
cannot-link, are drawn again: a small part of a place, which keeps a sample at a million
records under a second.

It is the model's own expectation, no more: it takes the pairs as independent and the
model's probabilities as right, and knows nothing of pairs scored under 0.5 or never
compared. The spread between samples is not an interval for the truth, and is not shown as
one (the samples' spread held the truth on one of four synthetic places).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight import conflicts, figure_cache, review
from joinedup.insight.clusters import cluster_positions, joined, position_pairs
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure_rule import DisclosureRule

__all__ = ["CERTAIN", "SAMPLES", "CountDoubt", "cached", "expected_shown", "known_to_three"]

# Pairs the model puts at this probability or above join in every sample: one in a thousand
# would be left out, which moves no count at the scale of a sample's draw.
CERTAIN = 0.999
# Samples drawn: the average of 10 moved by a few persons between seeds at a million records.
SAMPLES = 10
SERVICES = 3


@dataclass(frozen=True)
class CountDoubt:
    """Persons known to ``SERVICES`` or more services: as linked, and as the model expects."""

    linked: int
    expected: float
    samples: int
    doubtful_pairs: int  # kept pairs under CERTAIN
    records_drawn: int  # records in the groups drawn again


def known_to_three(
    con: duckdb.DuckDBPyConnection, *, samples: int = SAMPLES, seed: int = 0
) -> CountDoubt | None:
    """The count as linked and as expected over ``samples`` draws of the doubtful pairs
    (seeded, so the same data give the same figure), or None when nothing is linked."""
    numbered = (
        "SELECT source || '|' || record_id AS unique_id, person_id, source, "
        "row_number() OVER (ORDER BY source || '|' || record_id) - 1 AS pos FROM person_links"
    )
    links = con.sql(f"SELECT unique_id, person_id, source FROM ({numbered}) ORDER BY pos").to_arrow_table()  # noqa: S608
    if not links.num_rows:
        return None
    ids = links.column("unique_id").combine_chunks()
    # Positions found by the database's join: Arrow's lookup of 2 million ids took 2 s.
    # A pair of records since removed has no position and is not drawn.
    pairs = con.sql(
        f"WITH n AS ({numbered}) SELECT a.pos AS l, b.pos AS r, p.match_weight, p.match_probability "  # noqa: S608
        "FROM link_pairs p JOIN n a ON a.unique_id = p.unique_id_l JOIN n b ON b.unique_id = p.unique_id_r "
        # In a fixed order: each pair takes the same random number in every view of the same
        # data (a parallel join gives its rows in any order: at a million records the figure
        # moved by about 5 between two views).
        "ORDER BY l, r"
    ).to_arrow_table()
    left, right = (pairs.column(c).to_numpy().astype(np.int64) for c in ("l", "r"))
    probability = pairs.column("match_probability").to_numpy(zero_copy_only=False)
    weights = pairs.column("match_weight").to_numpy(zero_copy_only=False)
    must_ids, cannot_ids = review.constraints(con)
    cannot_ids = [*cannot_ids, *conflicts.stored_cannot_links(con, review.current_threshold(con))]
    must, cannot = position_pairs(must_ids, ids), position_pairs(cannot_ids, ids)

    # The groups a sample can change: records joined, by any kept pair or decision, to a
    # doubtful pair or a cannot-link. Outside them every sample gives the linked persons.
    everything = joined(len(ids), left, right, must)
    doubtful = probability < CERTAIN
    drawn_groups = np.unique(np.concatenate([
        everything[left[doubtful]], everything[np.array([i for i, _ in cannot], dtype=np.int64)],
    ]))  # fmt: skip
    drawn = np.isin(everything, drawn_groups)
    sources = pc.dictionary_encode(links.column("source").combine_chunks()).indices.to_numpy()
    persons = pc.dictionary_encode(links.column("person_id").combine_chunks()).indices.to_numpy()
    fixed = _known_to(persons[~drawn], sources[~drawn])

    # The drawn records, renumbered, and the pairs and decisions among them.
    where = np.flatnonzero(drawn)
    local = np.full(len(ids), -1, dtype=np.int64)
    local[where] = np.arange(len(where))
    inside = drawn[left]
    sub_left, sub_right = local[left[inside]], local[right[inside]]
    sub_p, sub_w = probability[inside], weights[inside]
    sub_ids = ids.take(pa.array(where))
    sub_must = [(int(local[i]), int(local[j])) for i, j in must if drawn[i]]
    sub_cannot = [(int(local[i]), int(local[j])) for i, j in cannot if drawn[i] and drawn[j]]
    sub_sources = sources[where]

    linked = fixed + _known_to(persons[where], sub_sources)
    rng = np.random.default_rng(seed)
    counts = []
    for _ in range(samples):
        take = (sub_p >= CERTAIN) | (rng.random(len(sub_p)) < sub_p)
        labels = cluster_positions(
            sub_ids, sub_left[take], sub_right[take], sub_w[take], sub_must, sub_cannot
        )
        counts.append(fixed + _known_to(labels, sub_sources))
    return CountDoubt(
        linked=linked,
        expected=float(np.mean(counts)) if counts else float(linked),
        samples=samples,
        doubtful_pairs=int(doubtful.sum()),
        records_drawn=len(where),
    )


def cached(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> CountDoubt | None:
    """``known_to_three`` of the place, worked out once per data version (about 5 s at a
    million records, a fifth of a second at 40,000)."""
    return figure_cache.cached(con, ctx, ("count_doubt",), lambda: known_to_three(con))


def expected_shown(doubt: CountDoubt | None, rule: DisclosureRule) -> int | None:
    """The expected count as the place's disclosure rule lets it be shown (rounded as every
    count is), or None when it is small enough to be hidden or there is none."""
    if doubt is None:
        return None
    count = int(round(doubt.expected))
    return None if rule.is_small(count) else rule.round(count)


def _known_to(persons: np.ndarray, sources: np.ndarray) -> int:
    """How many of the persons (labels) hold records of SERVICES or more sources."""
    if not len(persons):
        return 0
    width = int(sources.max()) + 1
    held = np.unique(persons.astype(np.int64) * width + sources.astype(np.int64))  # (person, source) once
    return int((np.bincount(held // width) >= SERVICES).sum())
