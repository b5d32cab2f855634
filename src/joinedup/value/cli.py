"""`joinedup value compute|show|export`: a collaboration's public value account from the
command line, from the settings saved on its settings pages.

`compute` runs the engine on the place's store and stores the result (as Recompute does on
the page); `show` prints the stored account; `export` writes its tables as CSV. Both read
the disclosure-controlled account unless `--exact` is given, which is recorded in the audit
log like every exact or person-level export (and refused when the log cannot be written).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from joinedup.clikit import UserError, console, user_errors
from joinedup.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from joinedup.collaborations.models import Collaboration

value_app = typer.Typer(help="A collaboration's public value account.", no_args_is_help=True)

PlaceOpt = Annotated[str, typer.Option("--place", help="The place's slug")]
CollabOpt = Annotated[str, typer.Option("--collaboration", help="The collaboration's slug")]
ExactOpt = Annotated[bool, typer.Option(help="Exact figures, no disclosure control (audited)")]


def register(app: typer.Typer) -> None:
    app.add_typer(value_app, name="value")


@contextmanager
def _collaboration(place: str, slug: str) -> Iterator[tuple[Session, Collaboration]]:
    from joinedup.collaborations.charters import get_collaboration
    from joinedup.db.session import session_scope
    from joinedup.places.service import get_place

    with user_errors(), session_scope(get_settings()) as session:
        found = get_place(session, place)
        collab = get_collaboration(session, found, slug) if found else None
        if found is None or collab is None:
            raise UserError(f"there is no collaboration {slug!r} in the place {place!r}")
        yield session, collab


def _audit(session: Session, collab: Collaboration, action: str, detail: dict[str, Any]) -> None:
    from joinedup.audit import COMMAND_LINE, record

    record(
        session,
        action,
        actor_label=COMMAND_LINE,
        place_id=collab.place_id,
        subject=f"collaboration:{collab.slug}",
        detail=detail,
    )


def _stored(
    session: Session, collab: Collaboration, exact: bool, action: str, detail: dict[str, Any]
) -> dict[str, Any]:
    from joinedup.value.settings import account_of

    account = account_of(session, collab)
    if account is None or account.result is None:
        raise UserError("the account has not been computed yet: run `joinedup value compute` first")
    if exact:
        # Written and committed before the figures are shown: no audit row, no figures.
        _audit(session, collab, action, {**detail, "exact": True})
        session.commit()
        return account.result.account
    return account.result.published


@value_app.command("compute")
def compute_command(place: PlaceOpt, collaboration: CollabOpt) -> None:
    """Compute the account from its saved settings and the place's linked data, and store it."""
    from joinedup.insight.context import place_context
    from joinedup.insight.pipeline import store_options
    from joinedup.insight.reference_data import seed_reference
    from joinedup.insight.store import insight_path, open_store
    from joinedup.value.account import ValueInputError
    from joinedup.value.present import headline
    from joinedup.value.results import compute_for_publication, data_version, store_result
    from joinedup.value.settings import account_of

    settings = get_settings()
    ctx = place_context(place, settings)
    try:
        path = insight_path(Path(settings.insight_dir), place)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    with _collaboration(place, collaboration) as (session, collab):
        account = account_of(session, collab)
        if account is None:
            raise UserError(
                "the account has no settings yet: set it up on the collaboration's value settings page"
            )
        if not path.exists():
            raise UserError(f"place {place!r} has no insight yet: ingest and link its extracts first")
        with open_store(Path(settings.insight_dir), place, **store_options(settings)) as con:
            seed_reference(con)
            try:
                result, without, withheld = compute_for_publication(con, account, ctx.rule)
            except ValueInputError as exc:
                raise UserError(f"{exc.message} (setting: {exc.field})") from exc
            version = data_version(con)
        row = store_result(
            session,
            account,
            result,
            rule=ctx.rule,
            version=version,
            by="command line",
            without=without,
            withheld=withheld,
        )
        _audit(session, collab, "value.compute", {"settings_version": account.version})
        console.print(headline(row.published), markup=False, soft_wrap=True)


@value_app.command("show")
def show_command(place: PlaceOpt, collaboration: CollabOpt, exact: ExactOpt = False) -> None:
    """Print the stored account: the headline, the sizes, the measures and the totals."""
    from joinedup.value.present import count, headline, money, number

    with _collaboration(place, collaboration) as (session, collab):
        acc = _stored(session, collab, exact, "value.view.exact", {})
    console.print(headline(acc), markup=False, soft_wrap=True)
    if not acc.get("comparison_credible"):
        console.print(
            "Warning: no credible comparison group; the effect is before and after only, "
            "which overstates it.",
            markup=False,
            soft_wrap=True,
        )
    console.print(
        f"  people followed: {count(acc['n_programme'])}; matched comparison: {count(acc['n_matched'])}"
    )
    for m in acc.get("measures", []):
        console.print(
            f"  {m['label']}: effect {number(m.get('effect'))} per person per quarter "
            f"(95% interval {number(m.get('ci_low'))} to {number(m.get('ci_high'))})",
            markup=False,
            soft_wrap=True,
        )
    totals = acc.get("totals")
    if totals:
        console.print(
            f"  net present value {money(totals['npv'])}; fiscal return {number(totals['fiscal_roi'])}; "
            f"public value return {number(totals['public_value_roi'])}",
            markup=False,
            soft_wrap=True,
        )
    for reason in (acc.get("hidden") or {}).values():
        console.print(f"  {reason}", markup=False, soft_wrap=True)


@value_app.command("export")
def export_command(
    place: PlaceOpt,
    collaboration: CollabOpt,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the CSV files to")],
    exact: ExactOpt = False,
) -> None:
    """Write the account's tables as CSV files (disclosure-controlled unless --exact)."""
    from joinedup.csvsafe import write_frame
    from joinedup.value.present import EXPORTS, export_frame

    with _collaboration(place, collaboration) as (session, collab):
        acc = _stored(session, collab, exact, "value.export.exact", {"out": str(out)})
        if not exact:
            _audit(session, collab, "value.export", {"out": str(out)})
        slug = collab.slug
    out.mkdir(parents=True, exist_ok=True)
    for name in EXPORTS:
        write_frame(export_frame(acc, name), out / f"{slug}-value-{name}.csv")
    console.print(f"Wrote {len(EXPORTS)} tables to {out}")
