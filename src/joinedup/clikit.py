"""What every area's commands share: the one-line user error and the consoles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from joinedup.db.session import DatabaseUnavailable

# Plain text, not Rich markup: nearly every message names a user's own thing (a place, a
# partner, a file, a column), and markup would drop "[pilot]" from "Clitown [pilot]" without
# a word. Emphasis is given with ``style=``.
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)


class UserError(Exception):
    """Something the user can put right; shown as one line, exit status 2, no traceback."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into UserError with a plain message."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        yield
    except DatabaseUnavailable as exc:
        raise UserError(str(exc)) from exc
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        if missing_table(reason):
            raise UserError(f"Run `joinedup init` first ({reason})") from exc  # tables never made
        if isinstance(exc, ProgrammingError):
            raise  # a fault in joinedup's own SQL, not something the user can put right
        raise UserError(f"The database could not be reached: {reason}") from exc
    except FileNotFoundError as exc:
        raise UserError(f"File not found: {exc.filename}") from exc


def missing_table(reason: str) -> bool:
    """Whether a database error says a table is missing: the database was never set up with
    ``joinedup init`` (SQLite says "no such table", PostgreSQL 'relation "…" does not exist')."""
    sqlite = reason.startswith("no such table")
    return sqlite or (reason.startswith("relation ") and "does not exist" in reason)
