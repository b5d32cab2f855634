"""`joinedup partners` and `joinedup services`: a place's registry from the command line.

The same rules as the web app (places.registry): a bad input is one line naming what to put
right, and changes nothing; every change is audited as made on the command line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from joinedup.clikit import UserError, console, user_errors
from joinedup.config import get_settings
from joinedup.db.session import session_scope
from joinedup.places import registry, registry_csv
from joinedup.places.models import Partner, Place, Service
from joinedup.places.registry import PlaceError, StoreSources
from joinedup.places.service import get_place

partners_app = typer.Typer(help="List, add, change, retire, import and export a place's partners.",
                           no_args_is_help=True)
services_app = typer.Typer(help="List, add, change, retire, import and export a place's services.",
                           no_args_is_help=True)

PlaceOpt = Annotated[str, typer.Option("--place", help="Short name of the place")]
PartnerOpt = Annotated[str, typer.Option("--partner", help="The partner that provides the service")]


def register(app: typer.Typer) -> None:
    app.add_typer(partners_app, name="partners")
    app.add_typer(services_app, name="services")


@contextmanager
def _place(slug: str) -> Iterator[tuple[Session, Place]]:
    """The place in one transaction: committed if the command succeeds, else nothing changes."""
    with user_errors(), session_scope() as session:
        place = get_place(session, slug)
        if place is None:
            raise UserError(f"No place called '{slug}': see `joinedup places list`")
        try:
            yield session, place
        except registry_csv.ImportRefused as exc:
            lines = "\n".join(f"  {p}" for p in exc.problems)
            raise UserError(f"Nothing was imported; the file has these problems:\n{lines}") from exc
        except PlaceError as exc:
            raise UserError(str(exc)) from exc


def _sources(place: Place) -> StoreSources:
    return registry.store_sources(get_settings().insight_dir, place.slug)


def _partner(place: Place, name: str) -> Partner:
    found = next((p for p in place.partners if p.name.lower() == name.strip().lower()), None)
    if found is None:
        raise UserError(f"{place.name} has no partner called '{name}': see `joinedup partners list`")
    return found


def _service(place: Place, partner: str, name: str) -> Service:
    owner = _partner(place, partner)
    found = next((s for s in owner.services if s.name.lower() == name.strip().lower()), None)
    if found is None:
        raise UserError(f"{owner.name} has no service called '{name}': see `joinedup services list`")
    return found


def _read(file: Path) -> bytes:
    if str(file) == "-":
        return sys.stdin.buffer.read()
    return file.read_bytes()


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8", newline="")
        console.print(f"Written to {out}")


# ---------------------------------------------------------------- partners


@partners_app.command("list")
def partners_list(place: PlaceOpt) -> None:
    """List the place's partners, retired ones included."""
    with _place(place) as (_session, p):
        table = Table()
        for col in ("Name", "Sector", "Services", "Status"):
            table.add_column(col)
        for partner in p.partners:
            active = sum(1 for s in partner.services if not s.retired)
            status = "retired" if partner.retired else "active"
            table.add_row(partner.name, partner.sector, str(active), status)
        console.print(table)


@partners_app.command("add")
def partners_add(
    name: Annotated[str, typer.Argument(help="The organisation's name")], place: PlaceOpt,
    sector: Annotated[str, typer.Option(help="local government, NHS, central government, police and "
                                             "justice, housing, voluntary and community or business")],
    website: Annotated[str, typer.Option(help="Full web address")] = "",
) -> None:
    """Add a partner."""
    with _place(place) as (session, p):
        partner = registry.add_partner(session, p, name=name, sector=sector, website=website)
        console.print(f"Added {partner.name} to {p.name}")


@partners_app.command("edit")
def partners_edit(
    name: Annotated[str, typer.Argument(help="The partner's present name")], place: PlaceOpt,
    new_name: Annotated[str | None, typer.Option("--name", help="A new name")] = None,
    sector: Annotated[str | None, typer.Option(help="A new sector")] = None,
    website: Annotated[str | None, typer.Option(help="A new website ('' to remove it)")] = None,
) -> None:
    """Change a partner's name, sector or website."""
    with _place(place) as (session, p):
        partner = _partner(p, name)
        changes = registry.edit_partner(
            session, partner, name=partner.name if new_name is None else new_name,
            sector=sector or partner.sector, website=partner.website if website is None else website,
            sources=_sources(p))
        console.print(f"Changed {', '.join(changes)} of {partner.name}" if changes else "Nothing changed")


@partners_app.command("retire")
def partners_retire(
    name: Annotated[str, typer.Argument(help="The partner's name")], place: PlaceOpt,
    undo: Annotated[bool, typer.Option("--reinstate", help="Make a retired partner active again")] = False,
) -> None:
    """Retire a partner (its history is kept), or reinstate it with --reinstate."""
    with _place(place) as (session, p):
        partner = _partner(p, name)
        if undo:
            registry.reinstate_partner(session, partner)
            console.print(f"{partner.name} is active again")
        else:
            registry.retire_partner(session, partner)
            console.print(f"{partner.name} is retired; its history is kept")


@partners_app.command("delete")
def partners_delete(
    name: Annotated[str, typer.Argument(help="The partner's name")], place: PlaceOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a partner added by mistake (one with any history can only be retired)."""
    with _place(place) as (session, p):
        partner = _partner(p, name)
        label = partner.name
        if not yes and not typer.confirm(f"Delete {label} and its services?"):
            raise UserError("Nothing deleted")
        registry.delete_partner(session, partner, _sources(p))
        console.print(f"Deleted {label}")


@partners_app.command("import")
def partners_import(
    file: Annotated[Path, typer.Argument(help="CSV file (name, sector, website), or - for stdin")],
    place: PlaceOpt,
) -> None:
    """Add and change partners from a CSV file: all rows, or none if any is wrong."""
    with _place(place) as (session, p):
        result = registry_csv.import_partners(session, p, _read(file), sources=_sources(p))
        console.print(f"Partners imported: {result.summary()}")


@partners_app.command("export")
def partners_export(
    place: PlaceOpt,
    out: Annotated[Path | None, typer.Option(help="File to write (default: standard output)")] = None,
) -> None:
    """Write the place's partners as CSV."""
    with _place(place) as (_session, p):
        _write(registry_csv.partners_csv(p), out)


# ---------------------------------------------------------------- services


@services_app.command("list")
def services_list(
    place: PlaceOpt,
    partner: Annotated[str | None, typer.Option(help="Only this partner's services")] = None,
) -> None:
    """List the place's services, retired ones included."""
    with _place(place) as (_session, p):
        table = Table()
        for col in ("Partner", "Service", "Status", "Retired"):
            table.add_column(col)
        owners = [_partner(p, partner)] if partner else p.partners
        for owner in owners:
            for s in owner.services:
                table.add_row(owner.name, s.name, s.status, "yes" if s.retired or owner.retired else "")
        console.print(table)


@services_app.command("add")
def services_add(
    name: Annotated[str, typer.Argument(help="The service's name")], place: PlaceOpt, partner: PartnerOpt,
    description: Annotated[str, typer.Option(help="What it does")] = "",
    status: Annotated[str, typer.Option(help="active, inactive, defunct or temporarily closed")] = "active",
    email: Annotated[str, typer.Option(help="Contact email address")] = "",
    url: Annotated[str, typer.Option(help="Web page")] = "",
) -> None:
    """Add a service under one of the place's partners."""
    with _place(place) as (session, p):
        created = registry.add_service(session, p, _partner(p, partner), name=name, description=description,
                                       status=status, email=email, url=url)
        console.print(f"Added {created.name} to {created.partner.name}")


@services_app.command("edit")
def services_edit(
    name: Annotated[str, typer.Argument(help="The service's present name")], place: PlaceOpt,
    partner: PartnerOpt,
    new_name: Annotated[str | None, typer.Option("--name", help="A new name")] = None,
    description: Annotated[str | None, typer.Option(help="A new description")] = None,
    status: Annotated[str | None, typer.Option(help="A new status")] = None,
    email: Annotated[str | None, typer.Option(help="A new email address")] = None,
    url: Annotated[str | None, typer.Option(help="A new web page")] = None,
) -> None:
    """Change a service."""
    with _place(place) as (session, p):
        s = _service(p, partner, name)
        changes = registry.edit_service(
            session, s, name=s.name if new_name is None else new_name,
            description=s.description if description is None else description,
            status=status or s.status, email=s.email if email is None else email,
            url=s.url if url is None else url, sources=_sources(p))
        console.print(f"Changed {', '.join(changes)} of {s.name}" if changes else "Nothing changed")


@services_app.command("retire")
def services_retire(
    name: Annotated[str, typer.Argument(help="The service's name")], place: PlaceOpt, partner: PartnerOpt,
    undo: Annotated[bool, typer.Option("--reinstate", help="Make a retired service active again")] = False,
) -> None:
    """Retire a service (its history is kept), or reinstate it with --reinstate."""
    with _place(place) as (session, p):
        s = _service(p, partner, name)
        if undo:
            registry.reinstate_service(session, s)
            console.print(f"{s.name} is active again")
        else:
            registry.retire_service(session, s)
            console.print(f"{s.name} is retired; its history is kept")


@services_app.command("import")
def services_import(
    file: Annotated[Path, typer.Argument(help="CSV file (partner, name, description, status, email, "
                                              "url), or - for stdin")],
    place: PlaceOpt,
) -> None:
    """Add and change services from a CSV file: all rows, or none if any is wrong."""
    with _place(place) as (session, p):
        result = registry_csv.import_services(session, p, _read(file), sources=_sources(p))
        console.print(f"Services imported: {result.summary()}")


@services_app.command("export")
def services_export(
    place: PlaceOpt,
    out: Annotated[Path | None, typer.Option(help="File to write (default: standard output)")] = None,
) -> None:
    """Write the place's services as CSV."""
    with _place(place) as (_session, p):
        _write(registry_csv.services_csv(p), out)
