"""Why the model joins records of different people: a sample of the false pairs scored at the
threshold or above that touch one kind of hard case, each with the model's evidence
(``review_evidence.pair_evidence``, the same waterfall an analyst sees on the review page).

Reads a place kept by ``bench/insight_synthetic.py --hard --keep DIR`` (its store, truth and
``hard_cases.csv``) and prints the commonest patterns of levels, then each level's mean match
weight over the sample.

    .venv/bin/python bench/insight_synthetic.py --records 40000 --seed 1 --hard --keep /tmp/hard1
    .venv/bin/python bench/false_pair_evidence.py /tmp/hard1 --kind twin
"""

from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

import duckdb

from joinedup.insight.evaluate import register_truth
from joinedup.insight.model import DEFAULT_THRESHOLD
from joinedup.insight.review_evidence import pair_evidence

LACKING = "One or both records lack it"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="a directory kept by insight_synthetic.py --keep")
    parser.add_argument("--kind", default="twin", help="a kind of hard_cases.csv")
    parser.add_argument("--sample", type=int, default=40)
    args = parser.parse_args()
    extracts = args.place / "extracts"
    con = duckdb.connect(str(args.place / "place.duckdb"))
    register_truth(con, extracts)
    pairs = con.execute(
        """
        SELECT p.unique_id_l, p.unique_id_r FROM link_pairs p
        JOIN truth l ON l.uid = p.unique_id_l JOIN truth r ON r.uid = p.unique_id_r
        WHERE p.run_id = (SELECT max(run_id) FROM link_pairs) AND p.match_probability >= ?
          AND l.person <> r.person
          AND (p.unique_id_l IN (SELECT uid FROM hard WHERE kind = ?)
               OR p.unique_id_r IN (SELECT uid FROM hard WHERE kind = ?))
        ORDER BY hash(p.unique_id_l, p.unique_id_r) LIMIT ?
        """,
        [DEFAULT_THRESHOLD, args.kind, args.kind, args.sample],
    ).fetchall()
    patterns: collections.Counter[tuple[tuple[str, str], ...]] = collections.Counter()
    weights: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as work:
        for left, right in pairs:
            evidence = pair_evidence(con, left, right, work_dir=Path(work))
            patterns[tuple((r.comparison, r.level) for r in evidence.rows if r.level != LACKING)] += 1
            for row in evidence.rows:
                weights[(row.comparison, row.level)].append(row.weight)
            weights[("(prior)", "")].append(evidence.prior_weight)
            weights[("(total)", "")].append(evidence.match_weight)
    print(f"{len(pairs)} false pairs at {DEFAULT_THRESHOLD} or more touching {args.kind!r} (a sample)")
    for pattern, n in patterns.most_common(8):
        print(f"{n:4d}  " + "; ".join(f"{c}: {lvl}" for c, lvl in pattern))
    print("\nmean match weight by level over the sample:")
    for (comparison, level), values in sorted(weights.items()):
        print(f"  {comparison[:30]:30} {level[:50]:50} n={len(values):3d} {sum(values) / len(values):+.1f}")


if __name__ == "__main__":
    main()
