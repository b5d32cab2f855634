"""Splink's scores for pairs already found, with a stored model: one database and one linker
for every list of pairs a run scores.

An incremental run scores twice: the pairs its blocking found, then, once the touched
persons are clustered, the records of a person holding two NHS or NI numbers
(``conflicts``). Each scoring used to open its own Splink database and build its own linker
from the model (which parses every comparison's SQL), for a few dozen pairs in the second:
0.20 s against 0.10 s for 40 pairs scored in the run's database (docs/benchmarks.md). A
``PairScorer`` keeps both for the whole run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from joinedup.insight import splink_backend

__all__ = ["PAIR_COLUMNS", "PairScorer", "empty_scores", "pair_scorer"]

PAIR_COLUMNS = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]


def empty_scores() -> pa.Table:
    """No scored pairs, with the columns and types of ``PairScorer.score``'s answer."""
    return pa.table(
        {c: pa.array([], pa.float64() if c.startswith("match") else pa.string()) for c in PAIR_COLUMNS}
    )


class PairScorer:
    """Scores lists of pairs in one Splink database (``pair_scorer``). Each list's records
    and pairs are registered under names of their own, so no list's tables or scores can be
    read in place of another's."""

    def __init__(self, db_api: Any, backend: str, model: dict[str, Any], tf: dict[str, pa.Table]) -> None:
        self._db_api, self._backend, self._model, self._tf = db_api, backend, model, tf
        self._linker: Any = None
        self._lists = 0

    def score(self, records: pa.Table, pairs: pa.Table, where: str | None = None) -> pa.Table:
        """``PAIR_COLUMNS`` for ``pairs`` (match_key, join_key_l, join_key_r, the smaller id
        on the left) of ``records`` (their model input, with at least the columns
        ``splink_backend.scoring_columns`` names), keeping the rows ``where`` selects."""
        if not pairs.num_rows:
            return empty_scores()
        n = self._lists
        self._lists += 1
        scope = splink_backend.register(self._db_api, records, self._backend, table_name=f"records_{n}")
        blocked = splink_backend.register(self._db_api, pairs, self._backend, table_name=f"pairs_{n}")
        if self._linker is None:
            # The linker's own input table is only where Splink starts; each scoring names
            # the records it reads (splink_backend.score_blocked_pairs).
            self._linker = splink_backend.linker_from_model(self._db_api, scope, self._model, self._tf)
        predictions = splink_backend.score_blocked_pairs(self._linker, scope, blocked, evidence=False)
        try:
            return splink_backend.to_arrow(predictions, PAIR_COLUMNS, where).cast(empty_scores().schema)
        finally:
            predictions.drop_table_from_database_and_remove_from_cache()


@contextmanager
def pair_scorer(
    backend: str,
    model: dict[str, Any],
    tf: dict[str, pa.Table],
    *,
    memory_limit: str,
    threads: int,
    work_dir: Path,
    spark_master: str | None = None,
) -> Iterator[PairScorer]:
    """A ``PairScorer`` for ``model`` (Splink's JSON in ``backend``'s dialect,
    ``splink_backend.model_for_dialect``) and its term frequencies, in a database closed on
    leaving."""
    with splink_backend.database(
        backend, memory_limit=memory_limit, threads=threads, work_dir=work_dir, spark_master=spark_master
    ) as db_api:
        yield PairScorer(db_api, backend, model, tf)
