"""Source governance: legal basis, data sharing agreement and retention, and the purge.

Linking refuses a source with no legal basis (see link.check_governance); the purge removes
every source whose retention date has passed, with its records, quarantine and links.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from joinedup.insight import input_cache, link_state, name_and_date, one_record_store, review
from joinedup.insight.store import checkpoint, has_table, one, transaction

__all__ = ["delete_source", "expired_sources", "purge_expired", "remove_source", "source_counts", "sources"]


def sources(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every source with its governance. A missing optional value (legal basis, agreement,
    retention date) is None, never pandas' NaN or NaT: both of those count as true in a
    template's ``if`` and NaT then breaks any date formatting, which took the Sources page
    down for everyone once one source had no retention date."""
    frame = con.execute(
        """
        SELECT name, partner, service, need, cost_item, legal_basis, dsa_reference,
               retain_until, file_name, ingested_at, n_rows, n_records, n_quarantined,
               n_warnings, notes, coalesce(one_record_per_person, false) AS one_record_per_person
        FROM sources ORDER BY partner, service, name
        """
    ).df()
    return frame.astype(object).where(frame.notna(), None)


def expired_sources(con: duckdb.DuckDBPyConnection, today: date | None = None) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT name FROM sources WHERE retain_until IS NOT NULL AND retain_until < ? ORDER BY name",
            [today or date.today()],
        ).fetchall()
    ]


def remove_source(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Remove a source and everything derived from its records (in the caller's transaction)."""
    # The persons the next link run must re-cluster, found while the source's records and
    # pairs are still here to say which (the run itself sees only that records went).
    link_state.recheck_source(con, name)
    name_and_date.recheck_source(con, name, input_cache.CACHE if input_cache.cache_exists(con) else None)
    con.execute("DELETE FROM records WHERE source = ?", [name])
    con.execute("DELETE FROM quarantine WHERE source = ?", [name])
    con.execute("DELETE FROM person_links WHERE source = ?", [name])
    prefix = name + "|"
    # Analysts' decisions and the check sample's draws on its records go too (a source
    # ingested again later is reviewed afresh). So do the run history's mentions of its
    # records as the cause of a merge or split: the source is named in their place.
    review.forget_records(con, name)
    for table in ("link_pairs", "link_conflict_pairs"):
        con.execute(
            f"DELETE FROM {table} WHERE starts_with(unique_id_l, ?) OR starts_with(unique_id_r, ?)",  # noqa: S608
            [prefix, prefix],
        )
    if has_table(con, "person_event_records"):
        con.execute(
            "INSERT INTO person_event_records SELECT DISTINCT run_id, kind, person_id, other_person_id, "
            "?, 'source since removed' FROM person_event_records WHERE starts_with(unique_id, ?)",
            [name, prefix],
        )
        con.execute("DELETE FROM person_event_records WHERE starts_with(unique_id, ?)", [prefix])
    one_record_store.forget_source(con, name)
    con.execute("DELETE FROM sources WHERE name = ?", [name])
    # The model input kept between link runs holds the source's names, dates of birth and
    # addresses too: refreshed now, not at the next link, so nothing of the source stays.
    # (Deleting its rows alone would leave other records' rare keys counted with them.)
    if input_cache.cache_exists(con):
        input_cache.refresh(con)
    else:
        input_cache.drop(con)  # one an earlier version made, if any


def source_counts(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, int]:
    """What removing a source takes away: its records, quarantined rows and links, and the
    persons who are known only through it (they go), or also through other sources."""
    (records,) = one(con.execute("SELECT count(*) FROM records WHERE source = ?", [name])) or (0,)
    (quarantine,) = one(con.execute("SELECT count(*) FROM quarantine WHERE source = ?", [name])) or (0,)
    links, persons, only = one(con.execute(
        "WITH mine AS (SELECT DISTINCT person_id FROM person_links WHERE source = ?), "
        "elsewhere AS (SELECT DISTINCT person_id FROM person_links WHERE source <> ?) "
        "SELECT (SELECT count(*) FROM person_links WHERE source = ?), (SELECT count(*) FROM mine), "
        "(SELECT count(*) FROM mine WHERE person_id NOT IN (SELECT person_id FROM elsewhere))",
        [name, name, name],
    )) or (0, 0, 0)  # fmt: skip
    return {"records": int(records), "quarantined": int(quarantine), "links": int(links),
            "persons": int(persons), "persons_only_here": int(only)}  # fmt: skip


def delete_source(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, int] | None:
    """Remove one source and everything derived from its records, in one transaction (as the
    purge does). Returns what was removed, or None if there is no such source. The persons
    that remain are as the last linkage run left them, less this source's records: a new
    run is needed for links that went through them (the caller starts one)."""
    if one(con.execute("SELECT 1 FROM sources WHERE name = ?", [name])) is None:
        return None
    with transaction(con):
        counts = source_counts(con, name)
        remove_source(con, name)
    checkpoint(con)  # so deleted rows leave the file, not just the index
    return counts


def purge_expired(con: duckdb.DuckDBPyConnection, today: date | None = None) -> list[str]:
    """Remove every source past its retention date, all at once. Returns their names."""
    names = expired_sources(con, today)
    if names:
        with transaction(con):
            for name in names:
                remove_source(con, name)
        checkpoint(con)  # so deleted rows leave the file, not just the index
    return names
