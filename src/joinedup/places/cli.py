"""Commands for the database, the web server, the demo, places and users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from joinedup.clikit import UserError, console, user_errors
from joinedup.config import get_settings
from joinedup.db.migrate import upgrade_to_head
from joinedup.db.session import describe_url, session_scope
from joinedup.places import registry_cli
from joinedup.places.models import User
from joinedup.places.roles import ROLE_LABELS, Role
from joinedup.places.service import PlaceError, create_place, get_place, list_places
from joinedup.places.users import (
    AccountError,
    create_user,
    find_user,
    remove_role,
    reset_password,
    set_active,
    set_role,
)

users_app = typer.Typer(help="Add, list and change the people who use joinedup.",
                        no_args_is_help=True)
places_app = typer.Typer(help="List and create places.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.command("demo-next-month")(demo_next_month)
    app.add_typer(users_app, name="users")
    app.add_typer(places_app, name="places")
    registry_cli.register(app)


def init() -> None:
    """Create the database, or bring it up to date with the latest migrations."""
    settings = get_settings()
    with user_errors():
        upgrade_to_head(settings)
    console.print(f"Database ready at {describe_url(settings.resolved_database_url)}")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the web app (run `joinedup init` first)."""
    import uvicorn

    settings = get_settings()
    with user_errors():
        upgrade_to_head(settings)
    uvicorn.run(
        "joinedup.web.app:create_app", factory=True, host=host or settings.host,
        port=port or settings.port, workers=workers, proxy_headers=True, log_level="info",
    )


def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the app after loading")
    ] = False,
) -> None:
    """Load the demo place (safe to run again: nothing is duplicated) and print sign-in details."""
    from joinedup.synth.demo import DEMO_PASSWORD, DEMO_USERS, load_demo

    settings = get_settings()
    with user_errors():
        upgrade_to_head(settings)
        summary = load_demo(settings)
    console.print(summary, style="bold")
    table = Table(title="Demo sign-in details (password for all: " + DEMO_PASSWORD + ")")
    table.add_column("Role")
    table.add_column("Email")
    for role, email, _name in DEMO_USERS:
        table.add_row(ROLE_LABELS[role], email)
    console.print(table)
    if serve_after:
        console.print(f"Serving at http://{settings.host}:{settings.port}")
        serve(None, None, 1)


def demo_next_month(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the extracts to")],
    month: Annotated[int, typer.Option(min=1, help="Months on: 1 is April 2025, the month after "
                                       "the demo's events; each holds the months before it")] = 1,
) -> None:
    """Write the demo place's extracts as its partners send them next month (same sources,
    new events and people), to upload together and link incrementally."""
    from joinedup.insight.manifest import manifest_text
    from joinedup.synth.demo_value import write_demo_next_month
    from joinedup.synth.next_month import month_start

    place = write_demo_next_month(out, month)
    # A manifest beside them, so that the command line takes them in one go too.
    extracts = [(s, place.extract(s), place.mapping(s)) for s in place.sources]
    (out / "manifest.toml").write_text(manifest_text(extracts, out), encoding="utf-8")
    first = month_start(month)
    console.print(f"Wrote {len(place.sources)} extracts to {out}, with events to the end of "
                  f"{first:%B %Y} ({place.records:,} records; truth.csv says whose each is).")
    console.print("Upload them together on the insight page 'Upload several extracts at once', "
                  f"or run: joinedup ingest --place northbrook --manifest {out / 'manifest.toml'}; "
                  "then link.")


def _role(value: str) -> Role:
    try:
        return Role(value.lower())
    except ValueError:
        raise UserError(
            f"Unknown role '{value}': use one of {', '.join(r.value for r in Role)}"
        ) from None


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's email address")],
    name: Annotated[str, typer.Option(help="Full name")],
    place: Annotated[str | None, typer.Option(help="Short name of a place to give a role in")] = None,
    role: Annotated[str, typer.Option(help="Role in that place")] = "viewer",
    password: Annotated[str | None, typer.Option(help="Password (asked for if not given)")] = None,
) -> None:
    """Add a user, and optionally give them a role in a place."""
    role_ = _role(role)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with user_errors(), session_scope() as session:
        try:
            user = create_user(session, name=name, email=email, password=password)
        except AccountError as exc:
            raise UserError(str(exc)) from exc
        if place:
            p = get_place(session, place)
            if p is None:
                raise UserError(f"No place called '{place}': see `joinedup places list`")
            set_role(session, user, p, role_)
    console.print(f"Added {email}" + (f" as {ROLE_LABELS[role_]} in {place}" if place else ""))


@users_app.command("list")
def users_list(
    place: Annotated[str | None, typer.Option(help="Only users with a role in this place")] = None,
) -> None:
    """List users and their roles."""
    from sqlalchemy import select

    with user_errors(), session_scope() as session:
        table = Table()
        for col in ("Email", "Name", "Roles", "Active"):
            table.add_column(col)
        for user in session.scalars(select(User).order_by(User.email)):
            roles = [f"{m.place.slug}: {m.role}" for m in user.memberships
                     if place is None or m.place.slug == place]
            if place and not roles:
                continue
            table.add_row(user.email, user.name, ", ".join(roles), "yes" if user.active else "no")
        console.print(table)


@users_app.command("set-role")
def users_set_role(
    email: Annotated[str, typer.Argument(help="The user's email address")],
    place: Annotated[str, typer.Option(help="Short name of the place")],
    role: Annotated[str, typer.Option(help="admin, lead, analyst, partner or viewer")],
) -> None:
    """Give a user a role in a place (replacing any role they had there)."""
    role_ = _role(role)
    with user_errors(), session_scope() as session:
        user = find_user(session, email)
        if user is None:
            raise UserError(f"No user with email address {email}")
        p = get_place(session, place)
        if p is None:
            raise UserError(f"No place called '{place}': see `joinedup places list`")
        set_role(session, user, p, role_)
    console.print(f"{email} is now {ROLE_LABELS[role_]} in {place}")


@users_app.command("remove")
def users_remove(
    email: Annotated[str, typer.Argument(help="The user's email address")],
    place: Annotated[str, typer.Option(help="Short name of the place")],
) -> None:
    """Remove a user's role in a place."""
    with user_errors(), session_scope() as session:
        user = find_user(session, email)
        if user is None:
            raise UserError(f"No user with email address {email}")
        p = get_place(session, place)
        if p is None:
            raise UserError(f"No place called '{place}': see `joinedup places list`")
        if not remove_role(session, user, p):
            raise UserError(f"{email} has no role in {place}")
    console.print(f"Removed {email}'s role in {place}")


def _user(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise UserError(f"No user with email address {email}")
    return user


@users_app.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Argument(help="The user's email address")],
    password: Annotated[str | None, typer.Option(help="New password (asked for if not given)")] = None,
) -> None:
    """Set a new password for someone who has forgotten theirs; signs them out everywhere."""
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with user_errors(), session_scope() as session:
        try:
            ended = reset_password(session, _user(session, email), password)
        except AccountError as exc:
            raise UserError(str(exc)) from exc
    console.print(f"New password set for {email}; {_sessions(ended)} ended")


@users_app.command("deactivate")
def users_deactivate(email: Annotated[str, typer.Argument(help="The user's email address")]) -> None:
    """Stop someone signing in, and sign them out everywhere (the audit log keeps what they did)."""
    with user_errors(), session_scope() as session:
        ended = set_active(session, _user(session, email), False)
    console.print(f"{email} can no longer sign in; {_sessions(ended)} ended")


@users_app.command("activate")
def users_activate(email: Annotated[str, typer.Argument(help="The user's email address")]) -> None:
    """Let a deactivated user sign in again."""
    with user_errors(), session_scope() as session:
        set_active(session, _user(session, email), True)
    console.print(f"{email} can sign in again")


@users_app.command("sign-out")
def users_sign_out(email: Annotated[str, typer.Argument(help="The user's email address")]) -> None:
    """End every session of a user now (for example after a lost laptop)."""
    from joinedup import audit
    from joinedup.places import sessions

    with user_errors(), session_scope() as session:
        user = _user(session, email)
        ended = sessions.end_all(session, user.id, sessions.Why.OPERATOR)
        audit.record(session, "sign_out.operator", actor_label="command line", subject=user.email,
                     detail={"sessions_ended": ended})
    console.print(f"{email}: {_sessions(ended)} ended")


@users_app.command("sign-ins")
def users_sign_ins(
    days: Annotated[int, typer.Option(help="How many days back to look")] = 7,
) -> None:
    """Failed and slowed-down sign-ins, for every email address typed (known or not)."""
    from joinedup.places import throttle

    with user_errors(), session_scope() as session:
        # One line per attempt, tab-separated, never wrapped or cut: an email address typed by
        # an attacker must read (and be found with grep) whole, however narrow the terminal.
        lines = ["When (UTC)\tEmail address typed\tWhat happened\tFrom address"]
        for event in throttle.all_recent_attempts(session, days=days, limit=1000):
            what = "wrong password" if event.action == throttle.FAILED else "slowed down"
            lines.append(f"{event.at:%Y-%m-%d %H:%M:%S}\t{event.subject}\t{what}\t{event.ip}")
        console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"


@places_app.command("list")
def places_list() -> None:
    """List places."""
    with user_errors(), session_scope() as session:
        table = Table()
        for col in ("Short name", "Name", "Partners", "Adult population"):
            table.add_column(col)
        for p in list_places(session):
            table.add_row(p.slug, p.name, str(len(p.partners)),
                          f"{p.adult_population:,}" if p.adult_population else "")
        console.print(table)


@places_app.command("create")
def places_create(
    name: Annotated[str, typer.Argument(help="The place's name, e.g. 'Northbrook'")],
    slug: Annotated[str | None, typer.Option(help="Short name used in web addresses")] = None,
    adult_population: Annotated[int | None, typer.Option(help="Adults (16+) living there")] = None,
) -> None:
    """Create a place."""
    with user_errors(), session_scope() as session:
        try:
            place = create_place(session, name=name, slug=slug, adult_population=adult_population)
        except PlaceError as exc:
            raise UserError(str(exc)) from exc
        console.print(f"Created {place.name} ({place.slug})")
