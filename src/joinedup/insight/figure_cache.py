"""Figures kept per data version, so that the dashboard answers without recomputing them.

Controlling a family audits it with linear programmes and a chart is drawn by Vega; both
take from a tenth of a second to seconds, and both give the same answer until the store's
data or the place's disclosure rule change. So every figure that leaves here is keyed by the
**data version**: a cheap fingerprint of everything a figure can depend on —

- the store file, and the number of records and of person links;
- every row of the small tables that shape the figures: sources (re-ingesting or deleting
  one changes them), unit costs and deflators (a cost edit), cohort definitions, the store's
  settings, and each link run's id, status and end;
- the place's context from the app database: its disclosure rule, adult population and
  collaborating partners.

A figure is never served for another version, so a new run, an ingest, a deleted source, a
new cohort, an edited cost or a changed threshold each make the next request compute afresh.
Stale entries are not looked for: they age out of a memory bound (least recently used first).

The bound is ``JOINEDUP_FIGURE_CACHE_MB`` (default 64; 0 keeps nothing, which is how the
benchmark measures the path without a cache).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from typing import TypeVar, cast

import duckdb
import pandas as pd

from joinedup.insight.context import PlaceContext

__all__ = ["FigureCache", "cached", "data_version", "figure_cache", "reset"]

T = TypeVar("T")
DataVersion = tuple[Hashable, ...]

# Big tables are counted (a change to them always comes with a change to sources or runs);
# small ones are hashed row by row, so any edit to any column shows.
_VERSION_SQL = """
SELECT 'records', count(*), 0 FROM records
UNION ALL SELECT 'links', count(*), 0 FROM person_links
UNION ALL SELECT 'sources', count(*), sum(hash(t)) FROM sources t
UNION ALL SELECT 'unit_costs', count(*), sum(hash(t)) FROM unit_costs t
UNION ALL SELECT 'deflators', count(*), sum(hash(t)) FROM deflators t
UNION ALL SELECT 'cohorts', count(*), sum(hash(t)) FROM cohort_definitions t
UNION ALL SELECT 'settings', count(*), sum(hash(t)) FROM settings t
UNION ALL SELECT 'runs', count(*), sum(hash(run_id, status, finished_at)) FROM link_runs
"""


def data_version(con: duckdb.DuckDBPyConnection, ctx: PlaceContext) -> DataVersion:
    """The fingerprint of everything a published figure of the place depends on (~5 ms)."""
    (path,) = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()[0]
    rows = con.execute(_VERSION_SQL).fetchall()
    # Sorted, because UNION ALL promises no order.
    parts = tuple(sorted((str(name), int(n), int(h or 0)) for name, n, h in rows))
    return (path, parts, ctx)


def _size(value: object, depth: int = 0) -> int:
    """A rough size in bytes: enough to keep the cache within its bound."""
    if isinstance(value, bytes | str):
        return len(value) + 50
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=True).sum())
    if depth > 4:
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return sum(_size(k, depth + 1) + _size(v, depth + 1) for k, v in value.items()) + 64
    if isinstance(value, list | tuple | set | frozenset):
        return sum(_size(v, depth + 1) for v in value) + 64
    if is_dataclass(value) and not isinstance(value, type):
        return sum(_size(getattr(value, f.name), depth + 1) for f in fields(value)) + 64
    return sys.getsizeof(value)


class FigureCache:
    """Least recently used figures within a byte budget; safe across request threads.

    Two requests for the same missing figure compute it once: the second waits for the first.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        found, value = self._lookup(key)
        if found:
            return cast(T, value)
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:
            found, value = self._lookup(key)
            if found:
                return cast(T, value)
            try:
                made = make()
                self._put(key, made)
            finally:
                with self._lock:
                    self._making.pop(key, None)
        return made

    def _lookup(self, key: Hashable) -> tuple[bool, object]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return False, None
            self._entries.move_to_end(key)
            self.hits += 1
            return True, entry[0]

    def _put(self, key: Hashable, value: object) -> None:
        size = _size(value)
        if size > self.max_bytes:
            return  # larger than the whole budget: computed each time rather than thrash
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                _key, (_value, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


_instance: FigureCache | None = None
_instance_lock = threading.Lock()


def figure_cache() -> FigureCache:
    """The process's cache, sized by ``JOINEDUP_FIGURE_CACHE_MB`` when first used."""
    global _instance
    with _instance_lock:
        if _instance is None:
            from joinedup.config import get_settings

            _instance = FigureCache(int(get_settings().figure_cache_mb) * 1024 * 1024)
        return _instance


def reset(max_bytes: int | None = None) -> FigureCache:
    """Empty the cache (and optionally resize it): for tests and benchmarks."""
    global _instance
    with _instance_lock:
        if max_bytes is not None or _instance is None:
            from joinedup.config import get_settings

            size = max_bytes if max_bytes is not None else get_settings().figure_cache_mb * 1024**2
            _instance = FigureCache(int(size))
        else:
            _instance.clear()
        return _instance


def cached(
    con: duckdb.DuckDBPyConnection, ctx: PlaceContext, what: tuple[Hashable, ...], make: Callable[[], T]
) -> T:
    """``make()``, or what it gave before for the same figure (``what``) and data version."""
    return figure_cache().get((data_version(con, ctx), *what), make)

