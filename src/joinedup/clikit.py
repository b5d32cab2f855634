"""What every area's commands share: the one-line user error and the consoles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from joinedup.db.session import DatabaseUnavailable

console = Console()
err_console = Console(stderr=True)


class UserError(Exception):
    """Something the user can put right; shown as one line, exit status 2, no traceback."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into UserError with a plain message."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except DatabaseUnavailable as exc:
        raise UserError(str(exc)) from exc
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        raise UserError(f"The database could not be reached: {reason}") from exc
    except FileNotFoundError as exc:
        raise UserError(f"File not found: {exc.filename}") from exc
