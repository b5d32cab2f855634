"""The `joinedup` command: Typer, with Rich output. Each area adds its commands via register().

A user error (bad argument, missing file, database unreachable) prints one line and exits
non-zero; tracebacks are for bugs only.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from joinedup.clikit import UserError, err_console
from joinedup.places import cli as places_cli

app = typer.Typer(
    help="joinedup: help the public services of a place collaborate for real.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()

places_cli.register(app)

# Areas built in parallel register their commands when present.
for _area in ("joinedup.insight.cli", "joinedup.surveys.cli"):
    try:
        _module = __import__(_area, fromlist=["register"])
    except ImportError:  # pragma: no cover - the area has not landed yet
        continue
    _module.register(app)


def main() -> None:
    try:
        app()
    except UserError as exc:
        err_console.print(f"[red]Error:[/red] {exc}")
        sys.exit(2)
