"""`joinedup cohorts define|list|delete`: the place's cohorts from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from joinedup.clikit import UserError, console

cohorts_app = typer.Typer(help="Define, list and delete the place's cohorts.", no_args_is_help=True)

PlaceOpt = Annotated[str, typer.Option("--place", help="The place's slug")]
NameOpt = Annotated[str, typer.Option("--name", help="The cohort's short name")]


@cohorts_app.command("define")
def define(
    place: PlaceOpt,
    name: NameOpt,
    label: Annotated[str, typer.Option(help="A longer name for pages")] = "",
    need: Annotated[list[str] | None, typer.Option("--need", help="A need (repeat for more)")] = None,
    min_needs: Annotated[int, typer.Option(help="At least this many of the needs (0: no need rule)")] = 0,
    min_services: Annotated[int | None, typer.Option(help="Known to at least this many services")] = None,
    max_services: Annotated[int | None, typer.Option(help="Known to at most this many services")] = None,
    min_partners: Annotated[int | None, typer.Option(help="Known to at least this many partners")] = None,
    max_partners: Annotated[int | None, typer.Option(help="Known to at most this many partners")] = None,
    age_band: Annotated[list[str] | None, typer.Option("--age-band", help="An age band, like 18-24")] = None,
    sex: Annotated[list[str] | None, typer.Option("--sex", help="F or M")] = None,
    partner: Annotated[list[str] | None, typer.Option("--partner", help="Known to this partner")] = None,
) -> None:
    """Define (or redefine) a cohort: every rule given must hold."""
    from joinedup.insight import cohorts as cohort_mod
    from joinedup.insight.cli import _audit, _store
    from joinedup.insight.context import place_context

    with _store(place) as con:
        try:
            cohort = cohort_mod.define_cohort(
                con, name, label or name, need or [], min_needs, min_services=min_services,
                max_services=max_services, min_partners=min_partners, max_partners=max_partners,
                age_bands=age_band or [], sexes=sex or [], partners=partner or [],
            )  # fmt: skip
        except cohort_mod.CohortError as exc:
            raise UserError(f"cohort not saved: {exc}") from exc
    _audit(place_context(place), "insight.cohort.define", {"cohort": cohort.name, "rules": cohort.describe()},
           required=False)  # fmt: skip
    console.print(f"Saved cohort {cohort.name}: persons {'; '.join(cohort.describe())}")


@cohorts_app.command("list")
def list_cohorts(place: PlaceOpt) -> None:
    """The place's cohorts, their rules and persons (disclosure-controlled)."""
    from joinedup.insight import cohorts as cohort_mod
    from joinedup.insight import controlled
    from joinedup.insight.analysis import has_persons
    from joinedup.insight.cli import _store
    from joinedup.insight.context import place_context

    ctx = place_context(place)
    with _store(place) as con:
        defined = cohort_mod.cohorts(con)
        sizes = controlled.person_figures(con, ctx).sizes if has_persons(con) else {}
    table = Table("name", "label", "rules", "persons", "kind")
    for c in defined:
        size = sizes.get(c.name)
        shown = "–" if c.name not in sizes else ("*" if size is None else f"{size:,}")
        table.add_row(c.name, c.label, "; ".join(c.describe()), shown, "built in" if c.builtin else "defined")
    console.print(table)


@cohorts_app.command("delete")
def delete(place: PlaceOpt, name: NameOpt) -> None:
    """Delete a cohort the place defined (built-in ones stay); its figures go with it."""
    from joinedup.insight import cohorts as cohort_mod
    from joinedup.insight.cli import _audit, _store
    from joinedup.insight.context import place_context

    with _store(place) as con:
        try:
            cohort = cohort_mod.delete_cohort(con, name)
        except cohort_mod.CohortError as exc:
            raise UserError(str(exc)) from exc
    _audit(place_context(place), "insight.cohort.delete", {"cohort": cohort.name, "label": cohort.label},
           required=False)  # fmt: skip
    console.print(f"Deleted cohort {cohort.name}")
