"""Insight commands: ingest, link, insight, export, evaluate, purge, synth."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import duckdb
import typer
from rich.table import Table

from joinedup.clikit import UserError, console
from joinedup.config import get_settings
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import insight_path, open_store

if TYPE_CHECKING:
    from joinedup.insight.context import PlaceContext
    from joinedup.insight.ingest import IngestReport
    from joinedup.insight.manifest import Entry
    from joinedup.insight.readers import Limits

# The engine (pandas, Splink) is imported inside each command, not here, so that every
# `joinedup` command, and --help, starts quickly.

export_app = typer.Typer(help="Write insight tables to CSV or Parquet.", no_args_is_help=True)

PlaceOpt = Annotated[str, typer.Option("--place", help="The place's slug")]
OutOpt = Annotated[Path, typer.Option("--out", help="File to write (.csv or .parquet)")]


def register(app: typer.Typer) -> None:
    from joinedup.insight.cohort_cli import cohorts_app  # its own module: `joinedup cohorts ...`

    app.add_typer(cohorts_app, name="cohorts")
    app.command("ingest")(ingest)
    app.command("link")(link)
    app.command("insight")(insight)
    app.add_typer(export_app, name="export")
    app.command("evaluate")(evaluate)
    app.command("purge")(purge)
    app.command("synth")(synth)
    from joinedup.insight import mapping_cli  # its own module: `joinedup mapping ...`

    mapping_cli.register(app)
    from joinedup.insight import review_cli  # its own module: `joinedup review ...`

    review_cli.register(app)


@contextmanager
def _store(place: str, *, must_exist: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    from joinedup.insight.pipeline import store_options

    settings = get_settings()
    try:
        path = insight_path(Path(settings.insight_dir), place)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if must_exist and not path.exists():
        raise UserError(f"place {place!r} has no insight yet: ingest an extract first")
    if not path.exists():
        _check_new_place(place)
    try:
        with open_store(Path(settings.insight_dir), place, **store_options(settings)) as con:
            seed_reference(con)
            yield con
    except duckdb.IOException as exc:
        raise UserError(f"the insight store of {place!r} is busy or unreadable: {exc}") from exc


def _check_new_place(place: str) -> None:
    """A mistyped --place would otherwise start a new, empty store under that name, which
    no page of the web app shows and whose figures go under the default disclosure rule.
    Where the app database can be read, a new store is made only for a place it holds.
    Without one (the engine run on its own, before `joinedup init`) any name is taken."""
    from sqlalchemy.exc import SQLAlchemyError

    from joinedup.db.session import DatabaseUnavailable, app_database_absent, session_scope
    from joinedup.places.service import get_place, list_places

    if app_database_absent():
        return
    try:
        with session_scope(get_settings()) as session:
            if get_place(session, place) is not None:
                return
            known = sorted(p.slug for p in list_places(session))
    except (DatabaseUnavailable, SQLAlchemyError):
        return
    held = f"the places are {', '.join(known)}" if known else "there are no places yet"
    raise UserError(
        f"no place called {place!r} ({held}): check --place, or create the place with "
        f"`joinedup places create`; nothing was ingested"
    )


def _audit(
    ctx: PlaceContext, action: str, detail: dict[str, Any], *, required: bool, subject: str | None = None
) -> None:
    """Write to the app's audit log; person-level actions refuse to go on without it."""
    try:
        from joinedup.audit import record
        from joinedup.db.session import app_database_absent, session_scope

        if app_database_absent():
            raise FileNotFoundError("there is no app database yet")
        with session_scope(get_settings()) as session:
            record(
                session, action, actor_label="command line", place_id=ctx.place_id,
                subject=subject or f"place:{ctx.slug}", detail=detail,
            )  # fmt: skip
    except Exception as exc:
        if required:
            raise UserError(
                f"this export is person-level and must be written to the audit log, which "
                f"could not be reached ({str(exc).splitlines()[0]}); run `joinedup init` first"
            ) from exc


def ingest(
    place: PlaceOpt,
    file: Annotated[Path | None, typer.Argument(help="The extract: CSV, XLSX or Parquet")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="The mapping (TOML)")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Source name (default: the mapping's stem)")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="A manifest listing every extract with its mapping"),
    ] = None,
) -> None:
    """Ingest a partner extract into a place, whole or not at all; or every extract that a
    manifest lists, in one process, each file whole or not at all."""
    from joinedup.insight.context import place_context
    from joinedup.insight.ingest import IngestError, ingest_with_mapping
    from joinedup.insight.mapping import MappingError, load_mapping
    from joinedup.insight.readers import Limits

    limits = Limits.from_settings(get_settings())
    if manifest is not None:
        if file is not None or mapping is not None or source is not None:
            raise UserError("give either --manifest, or an extract with --mapping, not both")
        _ingest_manifest(place, manifest, limits)
        return
    if file is None or mapping is None:
        raise UserError("give an extract and its --mapping, or --manifest")
    try:
        # Read before the store is opened, so that a mapping in error leaves no new store.
        parsed = load_mapping(mapping)
    except MappingError as exc:
        raise UserError(str(exc)) from exc
    with _store(place, must_exist=False) as con:
        try:
            report = ingest_with_mapping(
                con, file, parsed, source=source, mapping_path=mapping, limits=limits
            )
        except IngestError as exc:
            raise UserError(str(exc)) from exc
    _print_report(report)
    if not report.unchanged:
        _audit(place_context(place), "insight.ingest", report.as_dict(), required=False)


def _print_report(report: IngestReport) -> None:
    console.print(report.summary())
    for note in report.notes:
        console.print(f"  note: {note}", markup=False)
    for reason, n in sorted(report.quarantine_reasons.items()):
        console.print(f"  quarantined, {reason}: {n:,}")
    for kind, n in sorted(report.warning_kinds.items()):
        console.print(f"  set aside, invalid {kind}: {n:,}")


def _ingest_manifest(place: str, path: Path, limits: Limits) -> None:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from joinedup.insight.context import place_context
    from joinedup.insight.manifest import ManifestError, default_workers, ingest_manifest, load_manifest

    with _store(place, must_exist=False) as con:
        try:
            entries = load_manifest(path, con)
        except ManifestError as exc:
            raise UserError("the manifest cannot be used; nothing was ingested:\n  "
                            + "\n  ".join(exc.problems)) from exc  # fmt: skip
        columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
                   TextColumn("{task.fields[status]}", markup=False), TimeElapsedColumn())  # fmt: skip
        with Progress(*columns, console=console, transient=False) as progress:
            tasks = {e.number: progress.add_task(f"{e.source} ({e.file.name})", total=1, start=False,
                                                 status="waiting") for e in entries}  # fmt: skip

            def started(entry: Entry) -> None:
                progress.start_task(tasks[entry.number])
                progress.update(tasks[entry.number], status="reading")

            def done(entry: Entry, report: IngestReport | None, error: str | None) -> None:
                status = "failed" if report is None else ("unchanged" if report.unchanged else "done")
                progress.update(tasks[entry.number], completed=1, status=status)

            result = ingest_manifest(
                con, entries, limits=limits, workers=default_workers(entries), on_start=started,
                on_done=done,
            )
    table = Table(title=f"Ingested from {path.name}")
    table.add_column("Source", no_wrap=True)
    for heading in ("Rows", "Records", "Quarantined", "Set aside"):
        table.add_column(heading, justify="right")
    table.add_column("Outcome")
    for report in result.reports:
        outcome = "unchanged" if report.unchanged else ("replaced" if report.replaced else "ingested")
        table.add_row(report.source, f"{report.rows:,}", f"{report.records:,}",
                      f"{report.quarantined:,}", f"{report.warnings:,}", outcome)  # fmt: skip
    for entry, _error in result.failures:
        table.add_row(entry.source, "", "", "", "", "failed: nothing changed")
    console.print(table)
    for report in result.reports:
        for note in report.notes:
            console.print(f"  {report.source}, note: {note}", markup=False)
    ctx = place_context(place)
    for report in result.reports:
        if not report.unchanged:
            _audit(ctx, "insight.ingest", report.as_dict(), required=False)
    if result.failures:
        raise UserError("\n".join(f"{entry.source}: {error}" for entry, error in result.failures))


def link(
    place: PlaceOpt,
    backend: Annotated[str, typer.Option(help="duckdb or spark")] = "duckdb",
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="Spark master URL (default local[2])")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the model's random sampling")] = 42,
    threshold: Annotated[
        float | None, typer.Option(help="Match probability at which records join a person")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Re-train the model and re-link every record")
    ] = False,
    name_and_date: Annotated[
        str | None,
        typer.Option(
            "--name-and-date",
            help="on or off: join a record holding only a name and a date of birth to the one person "
            "agreeing with it (kept for later runs; on unless turned off)",
        ),
    ] = None,
) -> None:
    """Link a place's sources into persons: only new and changed records once a model is
    trained (incremental), or everything with a re-trained model (--full)."""
    from joinedup.insight import name_and_date as name_date_rule
    from joinedup.insight.context import place_context
    from joinedup.insight.link import LinkError
    from joinedup.insight.model import DEFAULT_THRESHOLD
    from joinedup.insight.pipeline import link_with_settings

    if backend not in {"duckdb", "spark"}:
        raise UserError("--backend must be duckdb or spark")
    if name_and_date not in {None, "on", "off"}:
        raise UserError(f"--name-and-date must be on or off, not {name_and_date!r}: nothing was changed")
    settings = get_settings()
    with _store(place) as con:
        rule_before = name_date_rule.rule_on(con)
        if name_and_date is not None:
            name_date_rule.set_rule(con, name_and_date == "on")
        try:
            result = link_with_settings(
                con, settings, place, backend=backend, seed=seed,
                threshold=threshold or DEFAULT_THRESHOLD, spark_master=spark_master,
                mode="full" if full else "auto",
            )  # fmt: skip
        except LinkError as exc:
            name_date_rule.set_rule(con, rule_before)  # a run that did not happen changes nothing
            raise UserError(str(exc)) from exc
    console.print(result.summary())
    if name_and_date is not None and (name_and_date == "on") != rule_before:
        now = "now joined to" if name_and_date == "on" else "no longer joined to"
        console.print(f"  Records holding only a name and a date of birth are {now} the one person "
                      "agreeing with them, in this run and those to come; the persons were linked in "
                      "full once, with the stored model.")  # fmt: skip
    if result.retrain_advice:
        console.print(f"  Re-training suggested: {result.retrain_advice}")
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    console.print(f"  {timings}; {result.comparisons_per_second:,.0f} comparisons per second")
    _audit(
        place_context(place),
        "insight.link",
        {"run_id": result.run_id, "backend": backend, "records": result.records,
         "persons": result.persons, "mode": result.mode},
        required=False,
    )  # fmt: skip


def insight(
    place: PlaceOpt,
    unrounded: Annotated[bool, typer.Option(help="Show exact counts (analysts only; audited)")] = False,
) -> None:
    """Print the headline figures (disclosure-controlled unless --unrounded)."""
    from joinedup.insight import count_doubt
    from joinedup.insight.context import place_context
    from joinedup.insight.disclosure import control_counts
    from joinedup.insight.summary import headline

    ctx = place_context(place)
    with _store(place) as con:
        h = headline(con, ctx)
        doubt = count_doubt.known_to_three(con) if h.persons else None
    if unrounded:
        _audit(ctx, "insight.view.unrounded", {"what": "headline"}, required=True)

    def n(value: int) -> str:
        if unrounded:
            return f"{value:,}"
        (shown,) = control_counts([value], ctx.rule)
        return "*" if shown is None else f"{shown:,}"

    console.print(f"Insight for {ctx.name or place}")
    console.print(f"  sources {h.sources}, records {n(h.records)}, quarantined {n(h.quarantined)}")
    if not h.persons:
        console.print("  No persons yet: run `joinedup link` first.")
        return
    console.print(f"  persons {n(h.persons)}")
    console.print(
        f"  known to 2 or more services {n(h.known_to_two_or_more)}, 3 or more {n(h.known_to_three_or_more)}"
    )
    if doubt is not None:
        expected = int(round(doubt.expected))
        console.print(f"  known to 3 or more as the model expects them: about {n(expected)}")
        draws = f"{doubt.samples} draws of {doubt.doubtful_pairs:,} pairs it is unsure of"
        console.print(f"    (the average of {draws})")
    table = Table("cohort", "persons", "per 1,000 adults", "England (Hard Edges)")
    for row in h.cohorts:
        persons = int(row["persons"])  # type: ignore[call-overload]
        shown_persons = n(persons)
        rate = (
            f"{1000 * persons / ctx.adult_population:.2f}"
            if ctx.adult_population and shown_persons != "*"
            else "–"
        )
        national = row.get("national_per_1000")
        table.add_row(
            str(row["label"]),
            shown_persons,
            rate,
            f"{national}" if national == national and national else "–",
        )
    console.print(table)
    _print_households(place, ctx, unrounded)
    console.print(f"  cost of all events ({h.price_year} prices): £{round(h.total_cost, -3):,.0f}")
    console.print(f"  pairs of services sharing many people with no collaboration: {h.ships_in_the_night}")
    if not ctx.rule.threshold or unrounded:
        return
    console.print(f"  {ctx.rule.describe()}")


def _print_households(place: str, ctx: PlaceContext, unrounded: bool) -> None:
    """Households of linked persons in the newest financial year (Think Family)."""
    from joinedup.insight.households import household_figures, household_sizes
    from joinedup.insight.periods import available_years

    with _store(place) as con:
        years = available_years(con)
        if not years:
            return
        year = years[0]  # newest first
        sizes = household_sizes(con, year) if unrounded else household_figures(con, ctx, year).sizes
    table = Table(f"households in {year.label}", "households", title="Linked persons sharing an address")
    for size, households in zip(sizes["size"], sizes["households"], strict=True):
        table.add_row(str(size), "*" if households is None else f"{int(households):,}")
    console.print(table)


def _export(name: str, place: str, out: Path, unrounded: bool, year: str | None = None) -> None:
    from joinedup.insight import export as export_mod
    from joinedup.insight.context import place_context
    from joinedup.insight.periods import PeriodError, parse_year

    try:
        chosen = parse_year(year) if year else None
    except PeriodError as exc:
        raise UserError(str(exc)) from exc

    ctx = place_context(place)
    person_level = name == "links"
    if person_level or unrounded:
        _audit(
            ctx, f"insight.export.{name}", {"out": str(out), "unrounded": unrounded},
            required=True,
        )  # fmt: skip
    with _store(place) as con:
        frame = export_mod.build(name, con, ctx, controlled=not unrounded, year=chosen)
    export_mod.write_table(frame, out)
    console.print(f"Wrote {len(frame):,} rows to {out}")


@export_app.command("links")
def export_links(place: PlaceOpt, out: OutOpt) -> None:
    """source, record_id, person_id for every record (person-level; audited)."""
    _export("links", place, out, unrounded=False)


def _aggregate_command(name: str, help_text: str) -> None:
    def command(
        place: PlaceOpt,
        out: OutOpt,
        unrounded: Annotated[
            bool, typer.Option(help="Exact counts, no disclosure control (audited)")
        ] = False,
        year: Annotated[
            str | None,
            typer.Option(help="Financial year for costs and demand, like 2024-25 (default: the newest)"),
        ] = None,
    ) -> None:
        _export(name, place, out, unrounded, year)

    command.__doc__ = help_text
    export_app.command(name)(command)


_aggregate_command("cohorts", "Persons per cohort and per 1,000 adults.")
_aggregate_command("overlaps", "Persons with each combination of needs.")
_aggregate_command("costs", "Cost of each cohort's events by the partner who bears it.")
_aggregate_command("network", "Persons shared by each pair of services.")
_aggregate_command("demand", "Persons, events, events per person and cost for each service.")


def evaluate(
    place: PlaceOpt,
    truth: Annotated[Path, typer.Option("--truth", help="CSV of source,record_id,person")],
) -> None:
    """Pairwise precision, recall and F1 of the place's persons against a truth file."""
    from joinedup.insight.evaluate import evaluate_against_truth

    if not truth.exists():
        raise UserError(f"File not found: {truth}")
    with _store(place) as con:
        try:
            result = evaluate_against_truth(con, truth)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
    console.print(result.summary())


def purge(
    place: PlaceOpt,
    today: Annotated[str | None, typer.Option(help="Treat this date (YYYY-MM-DD) as today")] = None,
) -> None:
    """Remove sources past their retention date, with their records and links."""
    from joinedup.insight.context import place_context
    from joinedup.insight.governance import purge_expired

    try:
        when = date.fromisoformat(today) if today else date.today()
    except ValueError:
        raise UserError(f"--today must be a date like 2027-03-31, not {today!r}") from None
    with _store(place) as con:
        removed = purge_expired(con, when)
    if removed:
        console.print(f"Removed {len(removed)} sources past retention: {', '.join(removed)}")
        _audit(place_context(place), "insight.purge", {"sources": removed}, required=False)
    else:
        console.print("No source is past its retention date.")


def synth(
    people: Annotated[int, typer.Option("--people", help="How many people to make up")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write")],
    seed: Annotated[int, typer.Option(help="Random seed")] = 1,
    csv_only: Annotated[bool, typer.Option("--csv-only", help="Write every extract as CSV")] = False,
) -> None:
    """Write a fictional place: partner extracts, their mappings and truth.csv."""
    from joinedup.synth.insight import generate_place

    if people < 1:
        raise UserError("--people must be at least 1")
    from joinedup.insight.manifest import manifest_text

    place = generate_place(people, out, seed=seed, formats="csv" if csv_only else "mixed")
    triples = [(s, place.extract(s), place.mapping(s)) for s in place.sources]
    (out / "place.toml").write_text(manifest_text(triples, out), encoding="utf-8")
    console.print(
        f"Wrote {len(place.sources)} extracts ({place.records:,} records of {people:,} people), "
        f"their mappings, a manifest (place.toml) and truth.csv to {out}"
    )
