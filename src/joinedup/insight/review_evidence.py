"""The model's evidence for one pair: each comparison's level and match weight (Splink's
waterfall, as a table), scored with the stored model and its term frequencies."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc

from joinedup.insight import link_state, one_record_store, splink_backend
from joinedup.insight.review import ReviewError
from joinedup.insight.store import one

__all__ = ["Evidence", "EvidenceRow", "pair_evidence", "side_by_side"]


LABELS = {
    "forename": "Forename", "surname": "Surname", "dob": "Date of birth", "sex": "Sex",
    "postcode": "Postcode", "nhs_number": "NHS number", "ni_number": "National Insurance number",
    "uprn": "UPRN", "address_line": "Address",
    "household_birthday": "Date of birth, for one surname at one postcode",
    "household_surname": "Surname, for one postcode",
}  # fmt: skip


@dataclass(frozen=True)
class EvidenceRow:
    comparison: str
    level: str
    weight: float
    value_l: str
    value_r: str


@dataclass(frozen=True)
class Evidence:
    prior_weight: float
    rows: list[EvidenceRow]
    match_weight: float
    match_probability: float


def _level_labels(comparison: dict[str, Any]) -> dict[int, str]:
    """Splink numbers a comparison's levels: the null level -1, the others from the most
    alike (n - 1) down to 0."""
    levels = comparison.get("comparison_levels", [])
    others = [lvl for lvl in levels if not lvl.get("is_null_level")]
    labels = {-1: "One or both records lack it"}
    for i, level in enumerate(others):
        labels[len(others) - 1 - i] = str(level.get("label_for_charts") or level.get("sql_condition"))
    return labels


def pair_evidence(
    con: duckdb.DuckDBPyConnection, a: str, b: str, *, work_dir: Path, memory_limit: str = "500MB"
) -> Evidence:
    from joinedup.insight.link import prepare_input

    stored = link_state.load_model(con)
    if stored is None:
        raise ReviewError("No model has been trained yet: link the place first")
    frame = prepare_input(con, only=[a, b])
    ids = frame.column("unique_id")
    if frame.num_rows < 2:
        raise ReviewError("One of the pair's records is no longer held")
    db_api = splink_backend.duckdb_api(memory_limit, 1, work_dir / "splink-tmp")
    left = db_api.register(frame.filter(pc.equal(ids, a)), table_name="pair_left")
    right = db_api.register(frame.filter(pc.equal(ids, b)), table_name="pair_right")
    tf = link_state.term_frequencies(con, stored.model_id)
    linker = splink_backend.linker_from_model(db_api, left, stored.model, tf)
    scored = linker.inference.score_pairs(left, right)
    row = splink_backend.to_arrow(scored, ["*"]).to_pylist()[0]
    prior = float(stored.model.get("probability_two_random_records_match", 0.0001))
    rows = []
    for comparison in stored.model.get("comparisons", []):
        column = comparison["output_column_name"]
        gamma = row.get(f"gamma_{column}")
        # Splink 5 gives each comparison's match weight (log2 Bayes factor) and its
        # term-frequency adjustment as mw_ columns.
        weight = float(row.get(f"mw_{column}") or 0.0) + float(row.get(f"mw_tf_adj_{column}") or 0.0)
        rows.append(
            EvidenceRow(
                comparison=LABELS.get(column, column),
                level=_level_labels(comparison).get(int(gamma) if gamma is not None else -1, "–"),
                weight=weight,
                value_l=_text(row.get(f"{column}_l")),
                value_r=_text(row.get(f"{column}_r")),
            )
        )
    match_weight = float(row["match_weight"])
    weighing = one_record_store.weighed_pair(con, a, b, prior, stored.model_id)
    if weighing is not None:
        # The pair's score as the persons were built: lifted because the record's only likely
        # match in a source that holds each person once is trusted more (one_record_sources).
        services = dict(con.execute("SELECT name, service FROM sources").fetchall())
        names = " and ".join(services.get(source, source) for source in weighing.sources)
        rows.append(
            EvidenceRow(
                comparison=f"Candidates in {names}, which holds each person once",
                level=(
                    "No other candidate there"
                    if not weighing.others
                    else f"{weighing.others} other candidate{'s' if weighing.others != 1 else ''} there"
                ),
                weight=weighing.weight - weighing.raw_weight,
                value_l="–",
                value_r="–",
            )
        )
        match_weight += weighing.weight - weighing.raw_weight
    return Evidence(
        prior_weight=math.log2(prior / (1 - prior)),
        rows=rows,
        match_weight=match_weight,
        match_probability=1.0 / (1.0 + 2.0 ** min(-match_weight, 1000.0)),
    )


def _text(value: Any) -> str:
    return "–" if value is None else str(value)


def side_by_side(con: duckdb.DuckDBPyConnection, a: str, b: str) -> list[tuple[str, str, str]]:
    """The two records as the partners wrote them, field by field."""
    fields = [
        ("Service", "s.service"), ("Record", "r.record_id"), ("Forename", "r.forename_raw"),
        # A previous surname as written; normalised where a store made before kept only that.
        ("Surname", "r.surname_raw"),
        ("Previous surname", "coalesce(r.previous_surname_raw, r.previous_surname)"),
        ("Date of birth", "strftime(r.date_of_birth, '%d/%m/%Y')"),
        ("Sex", "r.sex"), ("Postcode", "r.postcode"), ("Address", "r.address_line"),
        ("NHS number", "r.nhs_number"), ("NI number", "r.ni_number"),
        ("Event", "strftime(r.event_date, '%d/%m/%Y')"), ("Person now", "l.person_id"),
    ]  # fmt: skip
    select = ", ".join(expr for _label, expr in fields)
    values = {}
    for unique_id in (a, b):
        row = one(con.execute(
            f"SELECT {select} FROM records r JOIN sources s ON s.name = r.source "  # noqa: S608
            "LEFT JOIN person_links l USING (source, record_id) "
            "WHERE r.source || '|' || r.record_id = ?",
            [unique_id],
        ))
        if row is None:
            raise ReviewError(f"Record {unique_id} is no longer held")
        values[unique_id] = row
    return [
        (label, _text(values[a][i]), _text(values[b][i])) for i, (label, _expr) in enumerate(fields)
    ]
