"""The `joinedup` command: Typer, with Rich output. Each area adds its commands via register().

A user error (bad argument, missing file, database unreachable) prints one line and exits
non-zero; tracebacks are for bugs only.
"""

from __future__ import annotations

import sys

import typer
from rich.text import Text

from joinedup.clikit import UserError, err_console
from joinedup.insight import cli as insight_cli
from joinedup.places import cli as places_cli
from joinedup.state import cli as state_cli
from joinedup.surveys import cli as surveys_cli
from joinedup.value import cli as value_cli

app = typer.Typer(
    help="joinedup: help the public services of a place collaborate for real.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for area in (places_cli, insight_cli, surveys_cli, state_cli, value_cli):
    area.register(app)


def main() -> None:
    try:
        app()
    except UserError as exc:
        err_console.print(Text.assemble(("Error:", "red"), f" {exc}"))
        sys.exit(2)
