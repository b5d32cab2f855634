"""Survey commands: `joinedup surveys rounds | import | results | links | close`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from joinedup.clikit import UserError, console, user_errors
from joinedup.config import get_settings
from joinedup.db.session import session_scope
from joinedup.places.models import Place
from joinedup.places.service import get_place
from joinedup.surveys import rounds
from joinedup.surveys.models import SurveyRound

surveys_app = typer.Typer(help="Survey rounds: list, import answers, read results.",
                          no_args_is_help=True)

PlaceOpt = Annotated[str, typer.Option("--place", help="The place's slug")]
RoundArg = Annotated[int, typer.Argument(help="The round's number (see `surveys rounds`)")]


def register(app: typer.Typer) -> None:
    app.add_typer(surveys_app, name="surveys")


def _place(session: Any, slug: str) -> Place:
    place = get_place(session, slug)
    if place is None:
        raise UserError(f"No place called {slug!r}")
    return place


def _round(session: Any, place: Place, round_id: int) -> SurveyRound:
    round_ = session.get(SurveyRound, round_id)
    if round_ is None or round_.place_id != place.id:
        raise UserError(f"{place.name} has no round {round_id}")
    return round_


@surveys_app.command("rounds")
def list_rounds(place: PlaceOpt) -> None:
    """List the place's rounds with their answers."""
    with user_errors(), session_scope(get_settings()) as session:
        p = _place(session, place)
        table = Table("Round", "Title", "Survey", "Dates", "Status", "Answers")
        for r in rounds.rounds_for_place(session, p.id):
            table.add_row(str(r.id), r.title, rounds.instrument_of(r).title,
                          f"{r.opens_on} to {r.closes_on}",
                          "open" if rounds.is_open(r) else r.status,
                          f"{rounds.submitted_count(session, r):,}")
        console.print(table)


@surveys_app.command("import")
def import_answers(place: PlaceOpt, round_id: RoundArg,
                   file: Annotated[Path, typer.Argument(help="CSV file, one row a response")],
                   ) -> None:
    """Import answers from CSV; every rejected row is listed with its reasons."""
    from joinedup.surveys import importing  # heavy (svy); only this command needs it
    with user_errors(), session_scope(get_settings()) as session:
        p = _place(session, place)
        r = _round(session, p, round_id)
        report = importing.import_csv(session, r, p, file.read_text(encoding="utf-8-sig"))
        if report.problem:
            console.print(report.problem, style="yellow")
        for row in report.rows:
            if not row.imported:
                console.print(f"line {row.line}: " + "; ".join(row.errors))
        console.print(f"{report.imported:,} imported, {report.rejected:,} rejected")


@surveys_app.command("results")
def show_results(place: PlaceOpt, round_id: RoundArg,
                 as_json: Annotated[bool, typer.Option("--json", help="Print all as JSON")] = False,
                 ) -> None:
    """Print the round's results (the same numbers the pages show)."""
    from joinedup.surveys import results  # heavy (svy); only this command needs it
    with user_errors(), session_scope(get_settings()) as session:
        p = _place(session, place)
        r = _round(session, p, round_id)
        body = results.results(session, r)
        if as_json:
            console.print_json(json.dumps(body))
            return
        if r.instrument_key == "readiness":
            table = Table("Line", "Ambition", "Practice", "Band", "Gap")
            for line in body["lines"]:
                a, pr, g = line["ambition"], line["practice"], line["gap"]
                table.add_row(line["name"], _fmt(a), _fmt(pr), pr.get("band") or "–", _fmt(g))
        else:
            table = Table("Measure", "Weighted", "Unweighted", "UK adults")
            for m in body.get("measures", []):
                nat = m["national"]["value"] if m["national"] else None
                table.add_row(m["label"], _pct(m["weighted"]), _pct(m["unweighted"]),
                              f"{nat:.0%}" if nat is not None else "–")
        console.print(f"{r.title}: {body.get('n', 0):,} answers")
        console.print(table)
        for note in body.get("notes", []):
            console.print(note)


def _fmt(est: dict[str, Any]) -> str:
    if not est.get("shown"):
        return "suppressed" if est.get("suppressed") else "–"
    lci, uci = est.get("lci"), est.get("uci")
    ci = f" ({lci:.0f} to {uci:.0f})" if lci is not None and uci is not None else ""
    return f"{est['mean']:.0f}{ci}"


def _pct(p: dict[str, Any]) -> str:
    if not p.get("shown") or p.get("est") is None:
        return "suppressed" if p.get("suppressed") else "–"
    ci = f" ({p['lci']:.0%} to {p['uci']:.0%})" if p.get("lci") is not None else ""
    return f"{p['est']:.0%}{ci}"


@surveys_app.command("links")
def make_links(place: PlaceOpt, round_id: RoundArg,
               count: Annotated[int, typer.Option(help="How many single-use links")],
               base_url: Annotated[str, typer.Option(help="The site's address")],
               out: Annotated[Path, typer.Option(help="CSV file to write")]) -> None:
    """Issue single-use links and write them to a CSV for a mail merge."""
    with user_errors(), session_scope(get_settings()) as session:
        p = _place(session, place)
        r = _round(session, p, round_id)
        try:
            links = rounds.issue_links(session, r, count)
        except rounds.RoundError as exc:
            raise UserError(str(exc)) from exc
        out.write_text(rounds.links_csv(r, base_url, links), encoding="utf-8")
        console.print(f"Wrote {len(links):,} links to {out}")


@surveys_app.command("close")
def close(place: PlaceOpt, round_id: RoundArg) -> None:
    """Close a round: its links then say politely that it has closed."""
    from joinedup.surveys import results  # heavy (svy); only this command needs it
    with user_errors(), session_scope(get_settings()) as session:
        p = _place(session, place)
        r = _round(session, p, round_id)
        rounds.close_round(session, r)
        results.results(session, r)  # computed once now, so the results pages are quick
        console.print(f"Closed {r.title}")
