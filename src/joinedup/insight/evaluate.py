"""Pairwise precision, recall and F1 of persons against a truth file.

Pairs are counted with combinatorics on the contingency table of (person, true person),
so evaluation is linear in records: TP = Σ C(n_ij, 2); predicted = Σ C(n_i·, 2);
true = Σ C(n_·j, 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from joinedup.insight.store import one

__all__ = [
    "Evaluation", "evaluate_against_truth", "evaluate_by_kind", "evaluate_frames", "read_truth",
    "register_truth",
]  # fmt: skip


@dataclass(frozen=True)
class Evaluation:
    records: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> str:
        return (
            f"pairwise precision {self.precision:.4f}, recall {self.recall:.4f}, "
            f"F1 {self.f1:.4f} over {self.records:,} records "
            f"({self.true_pairs:,} true pairs, {self.predicted_pairs:,} predicted)"
        )


def read_truth(path: Path) -> pd.DataFrame:
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"source", "record_id", "person"} - set(truth.columns)
    if missing:
        raise ValueError(f"{path.name}: the truth file needs columns source, record_id, person")
    return truth[["source", "record_id", "person"]]


def evaluate_frames(links: pd.DataFrame, truth: pd.DataFrame) -> Evaluation:
    """links: source, record_id, person_id; truth: source, record_id, person."""
    con = duckdb.connect(":memory:")
    con.register("links", links)
    con.register("truth", truth)
    row = one(
        con.execute(
            """
        WITH j AS (
            SELECT l.person_id AS p, t.person AS t
            FROM links l JOIN truth t USING (source, record_id)
        ),
        cell AS (SELECT count(*) AS n FROM j GROUP BY p, t),
        pred AS (SELECT count(*) AS n FROM j GROUP BY p),
        tru AS (SELECT count(*) AS n FROM j GROUP BY t)
        SELECT
            (SELECT count(*) FROM j),
            (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM tru),
            (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM pred),
            (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM cell)
        """
        )
    )
    con.close()
    assert row is not None
    return Evaluation(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def evaluate_by_kind(links: pd.DataFrame, truth: pd.DataFrame, kinds: pd.DataFrame) -> dict[str, Evaluation]:
    """Pairwise figures restricted, for each kind of hard case, to the pairs that hold at
    least one record of that kind (kinds: source, record_id, kind). A false merge of twins
    counts against the twins' precision, a missed married name against its recall.

    Within a group of n records of which m are of the kind, the pairs touching the kind
    number C(n, 2) - C(n - m, 2); ``records`` is how many records of the kind were linked."""
    con = duckdb.connect(":memory:")
    con.register("links", links)
    con.register("truth", truth)
    con.register("kinds", kinds)
    out: dict[str, Evaluation] = {}
    try:
        for (kind,) in con.execute("SELECT DISTINCT kind FROM kinds ORDER BY kind").fetchall():
            row = one(con.execute(
                """
                WITH hit AS (SELECT DISTINCT source, record_id FROM kinds WHERE kind = ?),
                j AS (
                    SELECT l.person_id AS p, t.person AS t, (h.record_id IS NOT NULL)::INT AS k
                    FROM links l JOIN truth t USING (source, record_id)
                    LEFT JOIN hit h USING (source, record_id)
                ),
                cell AS (SELECT count(*) AS n, sum(k) AS m FROM j GROUP BY p, t),
                pred AS (SELECT count(*) AS n, sum(k) AS m FROM j GROUP BY p),
                tru AS (SELECT count(*) AS n, sum(k) AS m FROM j GROUP BY t)
                SELECT
                    (SELECT sum(k) FROM j),
                    (SELECT coalesce(sum(n * (n - 1) / 2 - (n - m) * (n - m - 1) / 2), 0) FROM tru),
                    (SELECT coalesce(sum(n * (n - 1) / 2 - (n - m) * (n - m - 1) / 2), 0) FROM pred),
                    (SELECT coalesce(sum(n * (n - 1) / 2 - (n - m) * (n - m - 1) / 2), 0) FROM cell)
                """,
                [kind],
            ))  # fmt: skip
            assert row is not None
            out[str(kind)] = Evaluation(int(row[0] or 0), int(row[1]), int(row[2]), int(row[3]))
    finally:
        con.close()
    return out


def links_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "SELECT source, record_id, person_id FROM person_links ORDER BY source, record_id"
    ).df()


def evaluate_against_truth(con: duckdb.DuckDBPyConnection, truth_path: Path) -> Evaluation:
    return evaluate_frames(links_frame(con), read_truth(truth_path))


def deterministic_links(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The rule many councils use today: same NHS number, or same surname and date of birth.

    Records joined by either rule form persons (connected components), so the comparison
    with the probabilistic model is like for like.
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    records = con.execute(
        "SELECT source, record_id, row_number() OVER () - 1 AS i, nhs_number, surname, "
        "date_of_birth FROM records"
    ).df()
    con.register("_det", records)
    try:
        # Each group is chained to its first member: enough edges for the components.
        edges = con.execute(
            """
            SELECT i, first_value(i) OVER (PARTITION BY nhs_number ORDER BY i) AS j
            FROM _det WHERE nhs_number IS NOT NULL
            UNION ALL
            SELECT i, first_value(i) OVER (PARTITION BY surname, date_of_birth ORDER BY i)
            FROM _det WHERE surname IS NOT NULL AND date_of_birth IS NOT NULL
            """
        ).fetchnumpy()
    finally:
        con.unregister("_det")
    n = len(records)
    graph = coo_matrix((np.ones(len(edges["i"]), dtype=np.int8), (edges["i"], edges["j"])), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    return pd.DataFrame(
        {
            "source": records["source"],
            "record_id": records["record_id"],
            # Rows may come back in any order; node i's label belongs to the row whose i it is.
            "person_id": labels[records["i"].to_numpy()].astype(str),
        }
    )


def register_truth(con: duckdb.DuckDBPyConnection, extracts: Path) -> None:
    """Temporary tables ``truth`` (uid, person) and ``hard`` (uid, kind: a row per kind a
    record carries) from a synthetic place's ``truth.csv`` and ``hard_cases.csv``, each uid
    ``source|record_id`` as in the store's pairs, for the benchmarks that read a kept place."""
    for table, name, column in (("truth", "truth.csv", "person"), ("hard", "hard_cases.csv", "kind")):
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT source || '|' || record_id AS uid, {column} "  # noqa: S608
            "FROM read_csv(?, all_varchar = true)", [str(extracts / name)],
        )  # fmt: skip
