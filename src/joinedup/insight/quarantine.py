"""Why a row of an extract is quarantined: unreadable, no record_id, a record_id seen on an
earlier row, or nothing to link on. A mapping that names the wrong record_id column is
refused outright rather than quarantining most of the file.
"""

from __future__ import annotations

import pandas as pd

from joinedup.insight.ingest_report import IngestError
from joinedup.insight.mapping import Mapping
from joinedup.insight.readers import Extract

__all__ = ["MAX_BLANK_ID_SHARE", "MAX_DUPLICATE_SHARE", "quarantine_reasons"]

# Above this share of rows with a repeated record_id, the mapping has surely named the
# wrong column; quarantining most of the file would hide that mistake.
MAX_DUPLICATE_SHARE = 0.5
# Above this share of rows without a record_id, the mapping has named the wrong column.
MAX_BLANK_ID_SHARE = 0.5


def quarantine_reasons(out: pd.DataFrame, extract: Extract, mapping: Mapping) -> pd.Series:
    """Each row's reasons for quarantine (an empty list for a usable row)."""
    n = len(out)
    reasons: pd.Series = pd.Series([[] for _ in range(n)], index=out.index, dtype=object)
    unreadable = pd.Series(False, index=out.index)
    for position, problem in extract.problems.items():
        index = out.index[position]
        reasons[index].append(problem)
        unreadable[index] = True
    readable = int((~unreadable).sum())
    no_id = out["record_id"].isna() & ~unreadable
    spec = mapping.spec("record_id")
    assert spec is not None
    if readable and no_id.sum() / readable > MAX_BLANK_ID_SHARE:
        raise IngestError(
            f"{mapping.where(spec)}: record_id column {spec.column!r} is blank in "
            f"{int(no_id.sum()):,} of {readable:,} rows, so the rows cannot be told apart: "
            "is it the right column?"
        )
    for i in out.index[no_id]:
        reasons[i].append("no record_id")
    dup = out["record_id"].notna() & out["record_id"].duplicated(keep="first")
    if n and dup.sum() / n > MAX_DUPLICATE_SHARE:
        raise IngestError(
            f"{mapping.where(spec)}: record_id column {spec.column!r} does not identify rows: "
            f"{int(dup.sum()):,} of {n:,} rows repeat an earlier record_id"
        )
    # The first row of each repeated record_id only: a loop over every row took most of a
    # second at a million records, for the few ids that repeat.
    repeated = out["record_id"].isin(out.loc[dup, "record_id"]) & ~dup
    firsts = out.loc[repeated, ["record_id", "row_number"]]
    first_row = {
        str(rid): int(row) for rid, row in zip(firsts["record_id"], firsts["row_number"], strict=True)
    }
    for i in out.index[dup]:
        first = first_row[str(out.at[i, "record_id"])]
        reasons[i].append(f"duplicated record_id (first on row {first})")
    has_name = out["surname"].notna() | out["forename"].notna()
    has_anchor = (
        out["date_of_birth"].notna()
        | out["postcode"].notna()
        | out["uprn"].notna()
        | out["address_line"].notna()
    )
    has_id = out["nhs_number"].notna() | out["ni_number"].notna()
    unlinkable = ~((has_name & has_anchor) | has_id) & ~unreadable
    for i in out.index[unlinkable]:
        reasons[i].append(
            "nothing to link on (needs a name with a date of birth, postcode or address, "
            "or a valid NHS or National Insurance number)"
        )
    return reasons
