"""State-of-collaboration commands: publish a place's package, compare places' packages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from joinedup.clikit import UserError, console, user_errors
from joinedup.config import get_settings


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)
    app.command("compare")(compare)


def publish(
    place: Annotated[str, typer.Option("--place", help="The place's slug")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the package to")],
) -> None:
    """Write the place's state of collaboration as a Frictionless data package of
    disclosure-controlled aggregates, validated before it is written."""
    from joinedup.state.package import PackageError
    from joinedup.state.publish import publish_place

    with user_errors():
        try:
            path = publish_place(get_settings(), place, out)
        except PackageError as exc:
            raise UserError(str(exc)) from exc
    console.print(f"Published the package of {place} to {path}")


def compare(
    packages: Annotated[list[str], typer.Argument(help="Package directories, zip files or "
                                                       "http(s) addresses")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the comparison to a .html "
                                                           "or .csv file")] = None,
) -> None:
    """Compare places side by side from their published packages."""
    from joinedup.state.compare import compare as compare_packages
    from joinedup.state.load import load_any
    from joinedup.state.report import describe_cell, rank_text, to_csv, to_html, unit_of

    if out is not None and out.suffix.lower() not in {".html", ".csv"}:
        raise UserError("--out must end in .html or .csv")
    result = compare_packages([load_any(p) for p in packages])
    for problem in result.problems:
        console.print(Text.assemble(("Left out:", "red"), f" {problem}"), highlight=False)
    if out is not None:
        text = to_html(result) if out.suffix.lower() == ".html" else to_csv(result)
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote the comparison of {len(result.places)} places to {out}")
    else:
        from rich.table import Table

        names = {p.slug: p.name for p in result.places}
        for section in result.sections:
            table = Table("row", "place", "figure", "rank", title=section.title)
            for row in section.rows:
                for cell in row.cells:
                    table.add_row(row.label, names[cell.place], describe_cell(cell, unit_of(section.key)),
                                  rank_text(cell, len(result.places)))
            console.print(table)
    if not result.places:
        raise UserError("no package could be compared")
