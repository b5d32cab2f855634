"""A manifest: every extract of a place with its mapping, ingested in one process.

A partnership receives its partners' extracts together each month. Starting a process per
file cost most of the time of loading a place (issue 9 measured 41 s for six extracts, much
of it start-up), and a typo in the fifth file's path was found only after four had gone in.
A manifest is checked whole before any file is read: every file and mapping must exist,
every mapping must parse, and no two entries may feed one source. Each file then still goes
in whole or not at all, as with one `joinedup ingest`.

The format (paths relative to the manifest)::

    [[extract]]
    file = "hospital.csv"
    mapping = "hospital.toml"
    source = "hospital"        # optional: the mapping's name, or its file's stem
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import tomllib
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from joinedup.insight.held_sources import Held, held_source, records_table, write_extract
from joinedup.insight.ingest import IngestError, IngestReport, read_and_prepare, source_name_for
from joinedup.insight.ingest_report import PreparedExtract
from joinedup.insight.mapping import Mapping, MappingError, load_mapping
from joinedup.insight.readers import Limits

__all__ = [
    "PARALLEL_FROM_BYTES",
    "Entry",
    "ManifestError",
    "ManifestResult",
    "default_workers",
    "ingest_manifest",
    "load_manifest",
    "manifest_text",
]

_ENTRY_KEYS = frozenset({"file", "mapping", "source"})


class ManifestError(ValueError):
    """The manifest cannot be used; nothing has been ingested. One line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Entry:
    number: int  # 1-based position in the manifest, for messages
    file: Path
    mapping_path: Path
    mapping: Mapping
    source: str


@dataclass
class ManifestResult:
    reports: list[IngestReport] = field(default_factory=list)
    failures: list[tuple[Entry, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def load_manifest(path: Path, con: duckdb.DuckDBPyConnection | None = None) -> list[Entry]:
    """Read and check a manifest. Raises ManifestError listing every problem found.

    With the place's store, it also refuses an entry that would feed an existing source of
    another partner or service: re-using a name would silently replace someone else's data.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError([f"{path.name}: cannot be read ({exc.strerror})"]) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError([f"{path.name}: is not valid TOML ({exc})"]) from exc
    raw = data.get("extract")
    if not isinstance(raw, list) or not raw:
        raise ManifestError([f"{path.name}: lists no extracts; add [[extract]] tables with "
                             "file and mapping"])  # fmt: skip
    base = path.parent
    problems: list[str] = []
    entries: list[Entry] = []
    for number, item in enumerate(raw, start=1):
        where = f"{path.name}, extract {number}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a table with file and mapping")
            continue
        unknown = sorted(set(item) - _ENTRY_KEYS)
        if unknown:
            problems.append(f"{where}: unknown key {unknown[0]!r} (keys: file, mapping, source)")
        missing = [k for k in ("file", "mapping") if not isinstance(item.get(k), str) or not item[k]]
        if missing:
            problems.append(f"{where}: give its {' and '.join(missing)}")
            continue
        file = base / item["file"]
        mapping_path = base / item["mapping"]
        if not file.is_file():
            problems.append(f"{where}: file {item['file']!r} does not exist")
        if not mapping_path.is_file():
            problems.append(f"{where}: mapping {item['mapping']!r} does not exist")
            continue
        try:
            mapping = load_mapping(mapping_path)
        except MappingError as exc:
            problems.append(f"{where}: {exc}")
            continue
        source = source_name_for(mapping, mapping_path, item.get("source"))
        entries.append(Entry(number, file, mapping_path, mapping, source))
    seen: dict[str, int] = {}
    for entry in entries:
        if entry.source in seen:
            problems.append(
                f"{path.name}, extract {entry.number}: source {entry.source!r} is also fed by "
                f"extract {seen[entry.source]}; one source takes one extract"
            )
        seen.setdefault(entry.source, entry.number)
    if con is not None:
        held = {
            name: (partner, service)
            for name, partner, service in con.execute("SELECT name, partner, service FROM sources").fetchall()
        }
        for entry in entries:
            owner = held.get(entry.source)
            if owner and owner != (entry.mapping.partner, entry.mapping.service):
                problems.append(
                    f"{path.name}, extract {entry.number}: source {entry.source!r} already holds "
                    f"{owner[1]} of {owner[0]}, not {entry.mapping.service} of "
                    f"{entry.mapping.partner}; give this extract another source name"
                )
    if problems:
        raise ManifestError(problems)
    return entries


def ingest_manifest(
    con: duckdb.DuckDBPyConnection,
    entries: list[Entry],
    *,
    limits: Limits | None = None,
    workers: int = 1,
    on_start: Callable[[Entry], None] | None = None,
    on_done: Callable[[Entry, IngestReport | None, str | None], None] | None = None,
) -> ManifestResult:
    """Ingest each entry in turn, each whole or not at all. A file that fails is reported and
    the others still go in: a partner's bad extract should not hold up the rest.

    With ``workers`` above 1, files are read and normalised in that many other processes
    while this one writes them (normalising is Python-side and held one core; at a million
    records it was two fifths of loading a place). Files are still written one at a time,
    in the manifest's order, each in its own transaction, so the outcome is the same."""
    result = ManifestResult()
    pool = (
        ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        if workers > 1 and len(entries) > 1
        else None
    )
    try:
        pending: list[tuple[Entry, Held | None, str | None]] = []
        for entry in entries:
            # What the store holds is checked here, before any worker starts on the file.
            try:
                pending.append(
                    (entry, held_source(con, entry.file, entry.mapping, entry.source, entry.file.name), None)
                )
            except IngestError as exc:
                pending.append((entry, None, str(exc)))
        jobs: dict[int, Future[PreparedExtract]] = {}
        sizes = [_size(entry.file) for entry, _held, _problem in pending]
        submitted = 0
        for position, (entry, store_holds, problem) in enumerate(pending):
            while pool is not None and _read_ahead(sizes, position, submitted, workers):
                ahead, ahead_held, ahead_problem = pending[submitted]
                if ahead_problem is None and ahead_held is not None and ahead_held.unchanged is None:
                    jobs[submitted] = _submit(pool, ahead, limits)
                submitted += 1
            work: Future[PreparedExtract] | str | None = (
                problem if problem is not None else jobs.pop(position, None)
            )
            if on_start:
                on_start(entry)
            try:
                if isinstance(work, str):
                    raise IngestError(work)
                assert store_holds is not None
                if store_holds.unchanged is not None:
                    report = store_holds.unchanged
                else:
                    prepared = _result(work) if work is not None else read_and_prepare(
                        entry.file, entry.mapping, entry.source, entry.file.name, limits
                    )
                    prepared.report.replaced = store_holds.replaced
                    write_extract(con, prepared, entry.mapping, store_holds.digest)
                    report = prepared.report
            except IngestError as exc:
                result.failures.append((entry, str(exc)))
                if on_done:
                    on_done(entry, None, str(exc))
                continue
            result.reports.append(report)
            if on_done:
                on_done(entry, report, None)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return result


def _submit(pool: ProcessPoolExecutor, entry: Entry, limits: Limits | None) -> Future[PreparedExtract]:
    try:
        return pool.submit(_read_elsewhere, entry.file, entry.mapping, entry.source, entry.file.name, limits)
    except BrokenProcessPool as exc:  # an earlier worker died: this file is reported with it
        failed: Future[PreparedExtract] = Future()
        failed.set_exception(exc)
        return failed


def _read_elsewhere(
    path: Path, mapping: Mapping, name: str, display: str, limits: Limits | None
) -> PreparedExtract:
    """read_and_prepare in a worker process, its records made ready to cross to this one."""
    prepared = read_and_prepare(path, mapping, name, display, limits)
    return replace(prepared, records=records_table(prepared.records))


def _result(work: Future[PreparedExtract]) -> PreparedExtract:
    try:
        return work.result()
    except BrokenProcessPool as exc:
        # The operating system ended a worker (most often for want of memory): this file and
        # those still waiting are reported, and nothing of theirs is written.
        raise IngestError(
            "the process reading this file stopped before it finished (out of memory?); "
            "nothing of it was ingested: try again with fewer files at once"
        ) from exc


# Files are read ahead of the one being written while those waiting come to at most this
# many bytes (or `workers` + 1 files, if more). With a count alone, a large file kept the
# other worker idle: nine extracts of a 1M-record place took 19.1 s to ingest, and 14.8 s
# with this window, the process's peak memory the same (811 and 815 MB). Normalised
# extracts wait in this process's memory, so the window bounds what ingest adds to it.
READ_AHEAD_BYTES = 64 * 2**20


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # a file gone since the check is reported when its turn comes
        return 0


def _read_ahead(sizes: list[int], position: int, submitted: int, workers: int) -> bool:
    """Whether the next file may be handed to a worker while ``position`` is being written."""
    if submitted >= len(sizes):
        return False
    if submitted < position + workers + 1:
        return True
    return sum(sizes[position : submitted + 1]) <= READ_AHEAD_BYTES


# Below this many bytes of files, starting worker processes (about half a second) costs more
# than it saves: a 500 KB demo manifest took 0.8 s in one process and 1.2 s with two.
PARALLEL_FROM_BYTES = 8 * 2**20


def default_workers(entries: list[Entry]) -> int:
    """Processes to read and normalise a manifest's files: one per core, at most four (each
    holds one extract in memory), never more than there are files, and none for small files."""
    total = 0
    for entry in entries:
        with contextlib.suppress(OSError):  # a file gone since the check is reported later
            total += entry.file.stat().st_size
    if total < PARALLEL_FROM_BYTES:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), 4, len(entries)))


def manifest_text(extracts: list[tuple[str, Path, Path]], base: Path) -> str:
    """A manifest for (source, extract, mapping) triples, with paths relative to ``base``."""
    lines = ["# Extracts of a place, ingested with: joinedup ingest --manifest <this file>", ""]
    for source, extract, mapping in extracts:
        lines += [
            "[[extract]]",
            f'file = "{extract.relative_to(base).as_posix()}"',
            f'mapping = "{mapping.relative_to(base).as_posix()}"',
            f'source = "{source}"',
            "",
        ]
    return "\n".join(lines)
