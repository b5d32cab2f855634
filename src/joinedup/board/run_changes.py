"""What changed between the place's last two linkage runs, as a headline for the overview.

A board reading "people known to three or more services" should know when the people
themselves changed: since the previous run, how many persons merged, how many split and
how many are new. These are counts of persons, so for anyone but an analyst they go through
the place's disclosure control like every other count that leaves the analyst role. The
evidence (each merge and split with the records that caused it) is person-level, so the
link to the run page is given to analysts only; others see the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from joinedup.board.overview import Figure, Section
from joinedup.insight.context import PlaceContext
from joinedup.insight.disclosure import control_counts

__all__ = ["RunChanges", "latest_changes", "run_changes_section"]

TITLE = "What changed in the last linkage run"


@dataclass(frozen=True)
class RunChanges:
    run_id: int
    previous_run_id: int
    merged: int
    split: int
    new: int


def latest_changes(con: duckdb.DuckDBPyConnection) -> RunChanges | None:
    """The newest finished run against the one before it; None until there are two."""
    rows = con.execute(
        "SELECT run_id, n_persons, coalesce(n_merges, 0), coalesce(n_splits, 0) FROM link_runs "
        "WHERE status = 'done' AND n_persons IS NOT NULL ORDER BY run_id DESC LIMIT 2"
    ).fetchall()
    if len(rows) < 2:
        return None
    (run_id, persons, merges, splits), (previous_id, previous_persons, _, _) = rows
    # Each merge retires one person and each split makes one, so the persons who are new
    # (neither merged nor split) are the change in persons with those taken back out.
    new = max(0, int(persons) - int(previous_persons) + int(merges) - int(splits))
    return RunChanges(int(run_id), int(previous_id), int(merges), int(splits), new)


def run_changes_section(con: duckdb.DuckDBPyConnection, ctx: PlaceContext, *, analyst: bool) -> Section:
    section = Section("runs", TITLE, empty="Only one linkage run so far, or none: "
                      "changes show once the records have been linked twice.")
    try:
        changes = latest_changes(con)
    except duckdb.CatalogException:  # a store made before runs were recorded
        changes = None
    if changes is None:
        return section
    exact = [changes.merged, changes.split, changes.new]
    # Analysts see exact counts, as on the run page; everyone else sees them controlled.
    shown = exact if analyst else control_counts(exact, ctx.rule)
    link = f"/places/{ctx.slug}/insight/runs/{changes.run_id}" if analyst else ""
    detail = f"Run {changes.run_id} against run {changes.previous_run_id}."
    labels = ["Persons merged since the previous run", "Persons split since the previous run",
              "New persons since the previous run"]
    for label, value in zip(labels, shown, strict=True):
        section.figures.append(Figure(label, "Not shown" if value is None else f"{value:,}", detail, link))
    return section
