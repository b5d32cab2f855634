"""Rare-value blocking keys: a value held by at most RARE_KEY_CAP records is kept as a key,
a commoner one is dropped (so that no block grows with the place), a missing one stays
missing. A key wrongly kept would make a block of thousands; one wrongly dropped, a pair
never compared."""

from __future__ import annotations

from pathlib import Path

from joinedup.insight.link import RARE_KEY_CAP, prepare_input
from joinedup.insight.store import connect


def test_a_key_is_kept_up_to_the_cap_and_dropped_above_it(tmp_path: Path) -> None:
    con = connect(tmp_path / "p.duckdb", memory_limit="1GB", threads=1)
    try:
        rows = (
            [("ANN", "SMITH")] * RARE_KEY_CAP  # at the cap: kept
            + [("BOB", "JONES")] * (RARE_KEY_CAP + 1)  # one over: dropped
            + [("CAT", "LEE")]  # alone: kept
            + [(None, "LEE")]  # no forename: no name key
        )
        con.executemany(
            "INSERT INTO records (source, record_id, forename, surname) VALUES ('s', ?, ?, ?)",
            [[str(i), f, s] for i, (f, s) in enumerate(rows)],
        )
        frame = prepare_input(con)
    finally:
        con.close()
    keys: dict[str | None, set[str | None]] = {}
    for forename, key in zip(frame.column("forename").to_pylist(), frame.column("name_key").to_pylist(),
                             strict=True):  # fmt: skip
        keys.setdefault(forename, set()).add(key)
    assert keys == {"ANN": {"ANN SMITH"}, "BOB": {None}, "CAT": {"CAT LEE"}, None: {None}}
