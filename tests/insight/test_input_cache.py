"""The model input kept between runs must be, after each refresh, exactly what preparing it
afresh gives: a row left stale would be a record linked on what it was. The hard part is a
rare-value key whose count crosses the cap as records come and go, which changes the key of
records that did not change themselves; these tests drive counts across the cap both ways."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pyarrow as pa

from joinedup.insight import input_cache
from joinedup.insight.link import RARE_KEY_CAP, prepare_input
from joinedup.insight.store import connect

FIELDS = ("forename", "surname", "date_of_birth", "postcode", "address_line", "nhs_number")


def _cached(con: duckdb.DuckDBPyConnection) -> pa.Table:
    columns = ", ".join(f'"{c}"' for c in input_cache.input_columns(con))
    return con.sql(f"SELECT {columns} FROM {input_cache.CACHE} ORDER BY unique_id").to_arrow_table()


def _row_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(con.execute(f"SELECT unique_id, row_hash FROM {input_cache.CACHE}").fetchall())


def _fresh_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    # Hashed as the links were before the cache kept them: every column of a freshly
    # prepared input but the id, in its order (so a store linked then sees nothing changed).
    frame = prepare_input(con)
    con.register("_frame", frame)
    columns = ", ".join(f'"{c}"' for c in frame.column_names if c != "unique_id")
    return dict(con.execute(f"SELECT unique_id, hash({columns}) FROM _frame").fetchall())


def _record(rng: random.Random, i: int) -> list[object]:
    # Few names and addresses, so that keys are shared by about the cap's number of records.
    forename = rng.choice(["ANN", "BOB", "CAT", "DAN", None])
    surname = rng.choice(["SMITH", "JONES", "LEE"])
    year = rng.choice([1980, 1981])
    return [
        "s", str(i), forename, surname, f"{year}-0{rng.randint(1, 2)}-1{rng.randint(0, 1)}",
        rng.choice(["LS1 1AA", "LS2 2BB"]), f"{rng.randint(1, 3)} HIGH STREET LEEDS",
        rng.choice([None, "9434765919"]),
    ]  # fmt: skip


def test_the_cache_after_each_refresh_is_the_input_prepared_afresh(tmp_path: Path) -> None:
    rng = random.Random(7)
    con = connect(tmp_path / "p.duckdb", memory_limit="1GB", threads=1)
    insert = (
        f"INSERT INTO records (source, record_id, {', '.join(FIELDS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    rows = [_record(rng, i) for i in range(60)]
    # One name at the cap (kept) and one just over it (left out), so that the first build's
    # counting is tried at its edge, and removals later bring the second back under it.
    for i in range(2 * RARE_KEY_CAP + 1):
        rows.append(["s", str(100 + i), "EVE" if i < RARE_KEY_CAP else "FAY", "STONE", "1990-01-01",
                     "LS3 3CC", f"{i} LOW ROAD LEEDS", None])  # fmt: skip
    con.executemany(insert, rows)
    input_cache.rebuild(con)
    assert _cached(con).equals(prepare_input(con))
    assert _row_hashes(con) == _fresh_hashes(con)
    next_id, crossed = 200, 0
    for _ in range(12):
        before = {k: v for k, v in zip(*_cached(con).select(["unique_id", "name_key"]).to_pydict().values(),
                                       strict=True)}  # fmt: skip
        ids = [r[0] for r in con.execute("SELECT record_id FROM records").fetchall()]
        for rid in rng.sample(ids, 4):  # removed
            con.execute("DELETE FROM records WHERE record_id = ?", [rid])
        left = [r[0] for r in con.execute("SELECT record_id FROM records").fetchall()]
        for rid in rng.sample(left, 3):  # changed
            surname = rng.choice(["SMITH", "LEE"])
            con.execute("UPDATE records SET surname = ? WHERE record_id = ?", [surname, rid])
        batch = rng.randint(0, 2 * RARE_KEY_CAP)  # sometimes enough to push a name over the cap
        if batch:
            con.executemany(insert, [_record(rng, next_id + i) for i in range(batch)])
        next_id += batch
        changes = input_cache.refresh(con)
        fresh = prepare_input(con)
        assert _cached(con).equals(fresh)
        assert _row_hashes(con) == _fresh_hashes(con)
        after = dict(zip(*fresh.select(["unique_id", "name_key"]).to_pydict().values(), strict=True))
        moved = {u for u in before.keys() & after.keys() if before[u] != after[u]}
        assert moved <= set(changes.rewritten)
        crossed += len(set(changes.flipped))
    assert crossed > 0  # the counts did cross the cap, so the flipped path was exercised
    assert input_cache.refresh(con) == input_cache.RecordChanges([], [], [], {})
    input_cache.rebuild(con)
    assert _cached(con).equals(prepare_input(con))
    con.close()


def test_a_cache_of_another_shape_is_not_used(tmp_path: Path) -> None:
    # A store whose cache a version with other blocking keys made (here: one key fewer)
    # must not be refreshed as if it were current: its rows would lack the key.
    con = connect(tmp_path / "p.duckdb", memory_limit="1GB", threads=1)
    con.execute("INSERT INTO records (source, record_id, forename, surname) VALUES ('s', '1', 'A', 'B')")
    input_cache.rebuild(con)
    assert input_cache.cache_exists(con)
    con.execute(f"ALTER TABLE {input_cache.CACHE} DROP COLUMN street_key")
    assert not input_cache.cache_exists(con)
    con.close()
