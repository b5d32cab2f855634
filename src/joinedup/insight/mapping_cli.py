"""`joinedup mapping suggest`: the web app's suggested mapping, for command-line users.

It writes the same TOML a hand-written mapping is, with a comment on every choice that is
not certain, so the analyst reads those first. A date column whose order (day first or
month first) the values cannot decide is written commented out: it is never guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from joinedup.clikit import UserError, console

__all__ = ["register"]

mapping_app = typer.Typer(help="Suggest and check mappings of partner extracts.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(mapping_app, name="mapping")


def suggested_mapping_text(
    extract_path: Path, *, sheet: str | None = None, partner: str = "", service: str = ""
) -> tuple[str, list[str]]:
    """The suggested mapping's TOML for an extract, and what the analyst must decide."""
    from joinedup.config import get_settings
    from joinedup.insight.mapping import column_line, mapping_text
    from joinedup.insight.readers import Limits, ReadError, read_extract
    from joinedup.insight.suggest import LABELS, source_name_from, suggest_columns

    try:
        extract = read_extract(extract_path, sheet, limits=Limits.from_settings(get_settings()))
    except ReadError as exc:
        raise UserError(str(exc)) from exc
    suggestion = suggest_columns(extract)
    columns: list[tuple[str, str, str | None]] = []
    comments: dict[str, str] = {}
    postscript: list[str] = []
    decide: list[str] = []
    for column in suggestion.columns:
        if column.field is None:
            postscript.append(f"Not used: column {column.header!r}. {column.reason}.")
            continue
        if column.ask and column.date is not None:
            postscript += [
                f"CHOOSE: {column.reason}. Uncomment one of these for column {column.header!r}:",
                column_line(column.field, column.header, column.date.day_first),
                column_line(column.field, column.header, column.date.month_first),
            ]
            decide.append(f"{LABELS[column.field]}: column {column.header!r} is day first or month "
                          "first (the values cannot say)")  # fmt: skip
            continue
        columns.append((column.field, column.header, column.format))
        if column.confidence != "high":
            comments[column.field] = f"CHECK ({column.confidence} confidence): {column.reason}."
    if "record_id" not in {c[0] for c in columns}:
        decide.append("record id: no column was recognised; add record_id = \"...\"")
    if not partner or not service:
        decide.append("partner and service: fill them in under [source]")
    source: dict[str, object] = {"name": source_name_from(extract_path.name), "partner": partner,
                                 "service": service, "sheet": sheet}  # fmt: skip
    preamble = (f"Suggested by `joinedup mapping suggest` for {extract_path.name}.\n"
                "Check every line marked CHECK or CHOOSE; fill in partner, service, legal_basis,\n"
                "dsa_reference and retain_until under [source] (see the analysts' guide).")  # fmt: skip
    text = mapping_text(source, columns, comments=comments, preamble=preamble,
                        postscript="\n".join(postscript))  # fmt: skip
    if not partner or not service:
        # Empty values, so that ingest refuses the mapping until someone fills them in.
        text = text.replace("[source]\n", "[source]\n" + "".join(
            f'{key} = ""  # fill in\n' for key, value in (("partner", partner), ("service", service))
            if not value), 1)  # fmt: skip
    return text, decide


@mapping_app.command("suggest")
def suggest(
    extract: Annotated[Path, typer.Argument(help="The extract: CSV, XLSX or Parquet")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the mapping here (TOML)")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX only: the sheet to read")] = None,
    partner: Annotated[str, typer.Option("--partner", help="The partner that sent the extract")] = "",
    service: Annotated[str, typer.Option("--service", help="The service it is from")] = "",
) -> None:
    """Suggest a mapping for an extract from its headers and values."""
    text, decide = suggested_mapping_text(extract, sheet=sheet, partner=partner, service=service)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote the suggested mapping to {out}", markup=False)
    for item in decide:  # on stderr, so that the TOML on stdout can be redirected to a file
        typer.echo(f"  to decide: {item}", err=True)
