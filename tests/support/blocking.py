"""Pairs that the blocking rules make on a handful of hand-made records, by Splink's own
blocking (the full run) and by the incremental path's joins, for tests that check a rule
makes exactly the expected pairs whichever record sorts first."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
from splink import DuckDBAPI, Linker, SettingsCreator
from splink import comparison_library as cl

from joinedup.insight import model as link_model
from joinedup.insight.incremental_blocking import blocked_pairs

Pair = tuple[str, str]


def model_input(rows: list[dict[str, str]]) -> pd.DataFrame:
    """The model input of records given as unique_id, forename, surname, dob (and any other
    field), with the date's parts and the initials derived, and the rare-value keys null
    (as for common values) so that only the other rules pair."""
    out = []
    for row in rows:
        year, month, day = row["dob"].split("-")
        out.append({
            **row, "dob_transposed": f"{year}-{day}-{month}", "birth_year": year,
            "birth_year_month": f"{year}-{month}", "birth_month_day": f"{month}-{day}",
            "surname_initial": row["surname"][0], "forename_initial": row["forename"][0],
            "name_key": None, "surname_year_key": None, "dob_initials_key": None,
        })  # fmt: skip
    return pd.DataFrame(out)


def splink_pairs(frame: pd.DataFrame, present: frozenset[str]) -> set[Pair]:
    settings = SettingsCreator(
        link_type="dedupe_only", comparisons=[cl.ExactMatch("forename")],
        blocking_rules_to_generate_predictions=link_model.blocking_rules(present),
    )  # fmt: skip
    linker = Linker(DuckDBAPI().register(frame, table_name="records_in"), settings)
    blocked = linker.inference.compute_blocked_pairs_for_predict().as_pandas_dataframe()
    return set(zip(blocked["join_key_l"], blocked["join_key_r"], strict=True))


def incremental_pairs(frame: pd.DataFrame, present: frozenset[str], touched: str) -> set[Pair]:
    """The pairs the incremental path makes with ``touched`` new."""
    creators = link_model.blocking_rules(present)
    rules = [r.get_blocking_rule("duckdb").blocking_rule_sql for r in creators if not isinstance(r, dict)]
    assert len(rules) == len(creators), "a rule given as a dict would be left out"
    con = duckdb.connect(":memory:")
    con.register("_rows", frame)
    con.execute("CREATE TABLE place AS SELECT * FROM _rows")
    model = {"blocking_rules_to_generate_predictions": [{"blocking_rule": r} for r in rules]}
    blocked = blocked_pairs(con, "place", pa.array([touched], pa.string()), model)
    return set(
        zip(blocked.column("join_key_l").to_pylist(), blocked.column("join_key_r").to_pylist(), strict=True)
    )
