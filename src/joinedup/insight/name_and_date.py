"""Records that hold only a name and a date of birth, joined to the one person who agrees
with all of it.

Some services record little: a forename, a surname, a date of birth (often only a year, held
as 1 January) and nothing else, no identifier, postcode or address. The pairwise model
weighs such a record against each candidate alone, with the place's prior, and at a million
records a common name and a year come to about even odds, whoever else is in the place. Yet
when exactly one person in the place holds a record that agrees with *everything* this
record holds, the place itself says more: were that person a namesake, this record's own
person would have to be absent from every other source or recorded differently everywhere.
On the synthetic place with hard cases at a million records, 2,381 records were joined so,
83% of them to their own person, and pairwise F1 rose from 0.979 to 0.982
(docs/benchmarks.md, "Records with only a name and a date").

So, after the pairs are clustered, such a record left on its own joins the one person whose
records agree with it, when there is exactly one: the same forename and surname, no
different sex, and the same date of birth (or the same year where either date is 1 January,
the day unknown), given a pair the model keeps (``KEPT``) with one of that person's records.
Two persons agreeing, or another record on its own agreeing, and it stays alone: the
evidence cannot choose. The rule has no threshold of its own, and an analyst's "different
people" between the record and any record of that person stops it.

A place may turn the rule off (``set_rule``; ``joinedup link --name-and-date off``): a join it
makes is right about four times in five on that place, where a pair must be right nine times
in ten, and a partnership may not want that trade. The next run then links in full once with
the stored model, so that no person keeps a join the rule would no longer make.

Incremental runs give the persons a full re-link would: ``widen_scope`` adds to the persons
an incremental run re-clusters every person holding a record agreeing with a re-clustered
record of this kind, and every person holding a record of this kind agreeing with a
re-clustered record, until none is added; and, through ``NAME_DATE_ROWS``, the persons whose
records agreed with what a changed or removed record held before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.insight.store import has_table, one

__all__ = [
    "JOINS", "KEPT", "NAME_DATE_ROWS", "RULE", "join_alone", "joined_pairs", "joined_records", "keep_joins",
    "keep_rows", "mark_linked", "not_yet_kept", "only_name_and_date", "recheck_source", "rule_changed",
    "rule_on", "set_rule", "update_rows", "widen_scope",
]  # fmt: skip

# The model input's name and date of every record that agrees with a record of this kind
# (or is one), as of the last link: what a changed or removed record held before.
NAME_DATE_ROWS = "link_name_date_rows"

# A join needs a pair the model keeps (it finds the pair more likely one person than two):
# the review queue can then show the pair, and a record that agrees in name and date with a
# person the model weighs against (a different sex recorded, say) is not joined.
KEPT = 0.5

# The records this rule joined to their persons (not by any pair), for the person's page.
JOINS = "link_name_date_joins"

_COLUMNS = "unique_id, forename, surname, sex, dob, birth_year"

# The store's settings: whether the rule joins records ("on", the default, or "off"), and
# whether it did when the persons now held were linked.
RULE = "name_and_date_rule"
_RULE_LINKED = "name_and_date_rule_linked"


def _setting_on(con: duckdb.DuckDBPyConnection, key: str) -> bool:
    row = one(con.execute("SELECT value FROM settings WHERE key = ?", [key]))
    return row is None or row[0] != "off"


def rule_on(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the rule joins records at the next run (on unless the place turned it off)."""
    return _setting_on(con, RULE)


def set_rule(con: duckdb.DuckDBPyConnection, on: bool) -> None:
    """Turn the rule on or off for the runs to come; ``rule_changed`` then asks for one full
    run with the stored model."""
    con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [RULE, "on" if on else "off"])


def mark_linked(con: duckdb.DuckDBPyConnection) -> None:
    """After a run (the caller's transaction): the persons held were linked with the rule as
    it is now."""
    value = "on" if rule_on(con) else "off"
    con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [_RULE_LINKED, value])


def rule_changed(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the next run must link in full, if the rule was turned on or off since the persons
    were linked: persons no run touches would keep (or lack) the rule's joins. A store linked
    before the setting existed was linked with the rule on."""
    if _setting_on(con, _RULE_LINKED) == rule_on(con):
        return None
    now = "joined to" if rule_on(con) else "no longer joined to"
    return (
        f"records holding only a name and a date of birth are now {now} the one person agreeing "
        "with them: run `joinedup link` (it links in full once, with the stored model) or "
        "`joinedup link --full`"
    )


def only_name_and_date(alias: str = "") -> str:
    """The record (``alias``) holds a name and a date and none of the other fields the model
    compares: no identifier, postcode, address or UPRN."""
    at = f"{alias}." if alias else ""
    held = " AND ".join(f"{at}{c} IS NOT NULL" for c in ("forename", "surname", "dob"))
    missing = " AND ".join(
        f"{at}{c} IS NULL" for c in ("nhs_number", "ni_number", "postcode", "address_line", "uprn")
    )
    return f"{held} AND {missing}"


def _columns(alias: str) -> str:
    return ", ".join(f"{alias}.{c}" for c in _COLUMNS.split(", "))


def _agree(a: str, b: str) -> str:
    """``b`` agrees with all that ``a`` holds (a symmetric test)."""
    return (
        f"{b}.forename = {a}.forename AND {b}.surname = {a}.surname AND {b}.unique_id <> {a}.unique_id "
        f"AND ({a}.sex IS NULL OR {b}.sex IS NULL OR {a}.sex = {b}.sex) "
        f"AND ({b}.dob = {a}.dob OR ({b}.birth_year = {a}.birth_year "
        f"AND ({a}.dob LIKE '%-01-01' OR {b}.dob LIKE '%-01-01')))"
    )


def join_alone(
    con: duckdb.DuckDBPyConnection, place: str, clusters: pa.Table, pairs: pa.Table | str, *,
    cannot: Iterable[tuple[str, str]] = (),
) -> tuple[pa.Table, list[tuple[str, str]]]:  # fmt: skip
    """``clusters`` (unique_id, cluster_id, named by its smallest record id) with each record
    of this kind that is alone joined to the one cluster agreeing with it, and the joins made
    (the record, the cluster it joined as named before). Only records in ``clusters`` are
    read: the incremental path passes the persons ``widen_scope`` gave. ``pairs`` (a table,
    or the name of one: unique_id_l, unique_id_r, match_probability): the record must be in a
    pair of probability ``KEPT`` or more with a record of that cluster."""
    con.register("_alone_clusters", clusters.select(["unique_id", "cluster_id"]))
    if isinstance(pairs, pa.Table):
        con.register("_alone_pairs", pairs.select(["unique_id_l", "unique_id_r", "match_probability"]))
    scored = "_alone_pairs" if isinstance(pairs, pa.Table) else pairs
    try:
        proposed = con.execute(
            f"""
            WITH c AS (SELECT unique_id, cluster_id FROM _alone_clusters),
            thin AS (SELECT {_columns("p")}, c.cluster_id FROM {place} p
                     JOIN c ON c.unique_id = p.unique_id WHERE {only_name_and_date("p")}),
            -- Sizes of the clusters holding such a record only (a window over every cluster
            -- took most of a second at a million records).
            shared AS (SELECT cluster_id FROM c WHERE cluster_id IN (SELECT cluster_id FROM thin)
                       GROUP BY cluster_id HAVING count(*) > 1),
            alone AS (SELECT {_COLUMNS} FROM thin WHERE cluster_id NOT IN (SELECT cluster_id FROM shared)),
            names AS (SELECT DISTINCT forename, surname FROM alone),
            named AS (SELECT {_columns("p")}, c.cluster_id FROM {place} p
                      JOIN names n ON n.forename = p.forename AND n.surname = p.surname
                      JOIN c ON c.unique_id = p.unique_id),
            sole AS (SELECT a.unique_id, min(b.cluster_id) AS cluster_id
                     FROM alone a JOIN named b ON {_agree("a", "b")}
                     GROUP BY a.unique_id HAVING count(DISTINCT b.cluster_id) = 1),
            kept AS (SELECT unique_id_l AS a, unique_id_r AS b FROM {scored}
                     WHERE match_probability >= {KEPT} AND unique_id_l IN (SELECT unique_id FROM sole)
                     UNION ALL
                     SELECT unique_id_r, unique_id_l FROM {scored}
                     WHERE match_probability >= {KEPT} AND unique_id_r IN (SELECT unique_id FROM sole))
            SELECT DISTINCT s.unique_id, s.cluster_id FROM sole s JOIN kept k ON k.a = s.unique_id
            JOIN c ON c.unique_id = k.b AND c.cluster_id = s.cluster_id ORDER BY 1
            """  # noqa: S608
        ).fetchall()
    finally:
        con.unregister("_alone_clusters")
        if isinstance(pairs, pa.Table):
            con.unregister("_alone_pairs")
    if not proposed:
        return clusters, []
    apart: dict[str, set[str]] = {}
    for x, y in cannot:
        apart.setdefault(x, set()).add(y)
        apart.setdefault(y, set()).add(x)
    cluster_of: dict[str, str] = {}
    if apart:
        wanted = pa.array(sorted({y for a, _ in proposed for y in apart.get(a, ())}), pa.string())
        known = clusters.filter(pc.is_in(clusters.column("unique_id"), value_set=wanted))
        cluster_of = dict(
            zip(known.column("unique_id").to_pylist(), known.column("cluster_id").to_pylist(), strict=True)
        )
    joins = [(a, c) for a, c in proposed if not any(cluster_of.get(y) == c for y in apart.get(a, ()))]
    return _relabel(clusters, joins), joins


def _relabel(clusters: pa.Table, joins: Sequence[tuple[str, str]]) -> pa.Table:
    """Clusters joined as ``joins`` say (a record alone is its own cluster, named by itself),
    each union named by its smallest record id, as ``clusters.cluster_records`` names them."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for record, cluster in joins:
        a, b = find(record), find(cluster)
        if a != b:
            parent[max(a, b)] = min(a, b)  # the smaller name wins: it is the union's smallest id
    if not parent:
        return clusters
    frame = clusters.select(["unique_id", "cluster_id"]).to_pandas()
    moved = frame["cluster_id"].isin(parent.keys())
    frame.loc[moved, "cluster_id"] = frame.loc[moved, "cluster_id"].map(find)
    return pa.Table.from_pandas(frame, preserve_index=False)


def keep_rows(con: duckdb.DuckDBPyConnection, place: str) -> None:
    """After a full link: ``NAME_DATE_ROWS`` from the model input (the caller's transaction)."""
    con.execute(f"DROP TABLE IF EXISTS {NAME_DATE_ROWS}")
    con.execute(
        f"""
        CREATE TABLE {NAME_DATE_ROWS} AS
        WITH thin AS (SELECT {_COLUMNS} FROM {place} WHERE {only_name_and_date()})
        SELECT * FROM thin
        UNION SELECT {_columns("b")} FROM {place} b JOIN thin a ON {_agree("a", "b")}
        """  # noqa: S608
    )


def update_rows(
    con: duckdb.DuckDBPyConnection, place: str, leaving: Sequence[str], nodes: Sequence[str]
) -> None:
    """After an incremental run: the rows of records gone or changed are dropped, and those of
    the re-clustered records (``nodes``) agreeing with a record of this kind written afresh. A
    row left for a record that no longer agrees with one only widens a later run's scope."""
    _ensure_rows(con)
    con.register("_rows_ids", pd.DataFrame({"unique_id": sorted({*leaving, *nodes})}, dtype=object))
    con.register("_rows_nodes", pd.DataFrame({"unique_id": list(nodes)}, dtype=object))
    try:
        con.execute(f"DELETE FROM {NAME_DATE_ROWS} WHERE unique_id IN (SELECT unique_id FROM _rows_ids)")
        con.execute(
            f"""
            INSERT INTO {NAME_DATE_ROWS}
            WITH r AS (SELECT {_COLUMNS} FROM {place} WHERE unique_id IN (SELECT unique_id FROM _rows_nodes)),
            thin AS (SELECT {_COLUMNS} FROM {place} WHERE {only_name_and_date()})
            SELECT * FROM r WHERE unique_id IN (SELECT unique_id FROM thin)
            UNION SELECT {_columns("b")} FROM r b JOIN thin a ON {_agree("a", "b")}
            """  # noqa: S608
        )
    finally:
        con.unregister("_rows_ids")
        con.unregister("_rows_nodes")


def keep_joins(
    con: duckdb.DuckDBPyConnection, joins: Sequence[tuple[str, str]], *, replacing: Sequence[str] | None
) -> None:
    """Keep the records ``join_alone`` joined (the caller's transaction): all of them after a
    full link (``replacing`` None), or in place of those of the re-clustered and leaving
    records (``replacing``) after an incremental run."""
    _ensure_rows(con)
    if replacing is None:
        con.execute(f"DELETE FROM {JOINS}")  # noqa: S608
    else:
        con.register("_joins_replaced", pd.DataFrame({"unique_id": list(replacing)}, dtype=object))
        try:
            con.execute(f"DELETE FROM {JOINS} WHERE unique_id IN (SELECT unique_id FROM _joins_replaced)")  # noqa: S608
        finally:
            con.unregister("_joins_replaced")
    if joins:
        con.register("_joins_made", pd.DataFrame({"unique_id": [a for a, _ in joins]}, dtype=object))
        try:
            con.execute(f"INSERT INTO {JOINS} SELECT DISTINCT unique_id FROM _joins_made")  # noqa: S608
        finally:
            con.unregister("_joins_made")


def joined_records(con: duckdb.DuckDBPyConnection, person_id: str) -> list[tuple[str, str]]:
    """(source, record id) of the person's records that this rule joined to it."""
    if not has_table(con, JOINS):
        return []
    return [
        (source, record_id)
        for source, record_id in con.execute(
            f"SELECT l.source, l.record_id FROM person_links l JOIN {JOINS} j "  # noqa: S608
            "ON j.unique_id = l.source || '|' || l.record_id WHERE l.person_id = ? ORDER BY 1, 2",
            [person_id],
        ).fetchall()
    ]


def joined_pairs(con: duckdb.DuckDBPyConnection, person_id: str) -> list[tuple[str, str, str | None]]:
    """(source, record id, partner) for each of the person's records this rule joined: the
    partner is the unique id of the person's record its strongest scored pair was with (any
    other of its records where none was scored), so that an analyst can open the two side by
    side on the review pages and say "different people" if the join is wrong."""
    joined = joined_records(con, person_id)
    if not joined:
        return []
    mine = [f"{source}|{record_id}" for source, record_id in con.execute(
        "SELECT source, record_id FROM person_links WHERE person_id = ? ORDER BY 1, 2", [person_id]
    ).fetchall()]  # fmt: skip
    ids = [f"{source}|{record_id}" for source, record_id in joined]
    best = dict(con.execute(
        """
        SELECT j, arg_max(other, match_weight) FROM (
            SELECT unique_id_l AS j, unique_id_r AS other, match_weight FROM link_pairs
            WHERE list_contains(?, unique_id_l) AND list_contains(?, unique_id_r)
            UNION ALL
            SELECT unique_id_r, unique_id_l, match_weight FROM link_pairs
            WHERE list_contains(?, unique_id_r) AND list_contains(?, unique_id_l)
        ) GROUP BY j
        """, [ids, mine, ids, mine],
    ).fetchall())  # fmt: skip
    pairs: list[tuple[str, str, str | None]] = []
    for (source, record_id), uid in zip(joined, ids, strict=True):
        others = [m for m in mine if m != uid]
        pairs.append((source, record_id, best.get(uid) or (others[0] if others else None)))
    return pairs


def not_yet_kept(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why an incremental run cannot go on, if the persons were last linked by a version
    before this rule (no ``NAME_DATE_ROWS``): the persons it leaves untouched would not have
    had their records of this kind joined, and a full re-link would join them."""
    if has_table(con, NAME_DATE_ROWS):
        return None
    return (
        "the persons were last linked before records holding only a name and a date of birth "
        "were joined to the one person agreeing with them: run `joinedup link` (it links in full "
        "once, with the stored model) or `joinedup link --full`"
    )


def _ensure_rows(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {JOINS} (unique_id VARCHAR)")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {NAME_DATE_ROWS} (unique_id VARCHAR, forename VARCHAR, surname VARCHAR, "
        "sex VARCHAR, dob VARCHAR, birth_year VARCHAR)"
    )


def widen_scope(
    con: duckdb.DuckDBPyConnection, place: str, scope: Sequence[str], *, links: str = "_links",
    touched: Sequence[str] = (), leaving: Sequence[str] = (),
) -> list[str]:  # fmt: skip
    """``scope`` (person ids an incremental run re-clusters) with every person whose record
    of this kind could be joined or left alone differently (see the module's docstring).
    ``links``: the persons before the run (unique_id, person_id); ``touched``: new and
    changed records; ``leaving``: changed and removed records, whose earlier values are read
    from ``NAME_DATE_ROWS``."""
    _ensure_rows(con)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _thin AS SELECT {_COLUMNS} FROM {place} WHERE {only_name_and_date()}"  # noqa: S608
    )
    con.register("_scope_touched", pd.DataFrame({"unique_id": list(touched)}, dtype=object))
    con.register("_scope_leaving", pd.DataFrame({"unique_id": list(leaving)}, dtype=object))
    persons = set(scope)
    try:
        # Records of this kind that agreed with what a leaving record held.
        found = {
            r[0]
            for r in con.execute(
                f"""
                WITH was AS (SELECT * FROM {NAME_DATE_ROWS}
                             WHERE unique_id IN (SELECT unique_id FROM _scope_leaving))
                SELECT DISTINCT l.person_id FROM was b JOIN _thin a ON {_agree("a", "b")}
                JOIN {links} l ON l.unique_id = a.unique_id
                """  # noqa: S608
            ).fetchall()
        }
        persons |= found
        frontier = set(persons)
        first = True
        while frontier or first:
            con.register("_scope_persons", pd.DataFrame({"person_id": sorted(frontier)}, dtype=object))
            try:
                con.execute(
                    f"""
                    CREATE OR REPLACE TEMP TABLE _scope_rows AS
                    SELECT {_COLUMNS}, {only_name_and_date()} AS thin FROM {place} WHERE unique_id IN (
                        SELECT unique_id FROM {links}
                        WHERE person_id IN (SELECT person_id FROM _scope_persons)
                        {"UNION SELECT unique_id FROM _scope_touched" if first else ""})
                    """  # noqa: S608
                )
            finally:
                con.unregister("_scope_persons")
            first = False
            reached = {
                r[0]
                for r in con.execute(
                    f"""
                    SELECT l.person_id FROM _scope_rows b JOIN _thin a ON {_agree("a", "b")}
                    JOIN {links} l ON l.unique_id = a.unique_id
                    UNION
                    SELECT l.person_id FROM _scope_rows a JOIN {place} b ON {_agree("a", "b")}
                    JOIN {links} l ON l.unique_id = b.unique_id
                    WHERE a.thin
                    """  # noqa: S608
                ).fetchall()
            }
            frontier = reached - persons
            persons |= frontier
    finally:
        con.unregister("_scope_touched")
        con.unregister("_scope_leaving")
        con.execute("DROP TABLE IF EXISTS _thin")
        con.execute("DROP TABLE IF EXISTS _scope_rows")
    return sorted(persons)


def recheck_source(con: duckdb.DuckDBPyConnection, source: str, place: str | None) -> None:
    """Before a source goes (``governance.remove_source``, the caller's transaction): the
    persons holding a record of this kind that agrees with one of the source's records are
    kept for the next run to re-cluster (``link_rechecks``), and the source's rows leave
    ``NAME_DATE_ROWS``. ``place``: the model input, still holding the source's records (None
    when there is none: every kept row agreeing with one of the source's is taken instead)."""
    prefix = source + "|"
    if not_yet_kept(con):  # the next run links in full: nothing to re-check, nothing kept
        if has_table(con, JOINS):
            con.execute(f"DELETE FROM {JOINS} WHERE starts_with(unique_id, ?)", [prefix])  # noqa: S608
        return
    others = (
        f"(SELECT {_COLUMNS} FROM {place} WHERE {only_name_and_date()})"
        if place is not None
        else NAME_DATE_ROWS
    )
    held = place if place is not None else NAME_DATE_ROWS
    gone = f"(SELECT {_COLUMNS} FROM {held} WHERE starts_with(unique_id, ?))"
    con.execute(
        f"""
        INSERT INTO link_rechecks (person_id, source)
        SELECT DISTINCT l.person_id, NULL FROM {gone} b JOIN {others} a ON {_agree("a", "b")}
        JOIN person_links l ON l.source || '|' || l.record_id = a.unique_id
        """,  # noqa: S608
        [prefix],
    )
    for table in (NAME_DATE_ROWS, JOINS):
        con.execute(f"DELETE FROM {table} WHERE starts_with(unique_id, ?)", [prefix])  # noqa: S608
