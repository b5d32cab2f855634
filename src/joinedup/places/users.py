"""Accounts: creating users, hashing passwords with argon2id, signing in with a rate limit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.db.base import utcnow
from joinedup.places.models import Membership, Place, User
from joinedup.places.roles import Role

# pwdlib's Argon2Hasher is argon2id with the library's recommended cost parameters.
_hasher = PasswordHash((Argon2Hasher(),))

MIN_PASSWORD_LENGTH = 12
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A user-facing problem with an account request; `field` names the form field."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def validate_new_user(name: str, email: str, password: str) -> list[AccountError]:
    errors: list[AccountError] = []
    if not name.strip():
        errors.append(AccountError("Enter the person's full name", "name"))
    if not EMAIL_RE.match(normalise_email(email)):
        errors.append(
            AccountError("Enter an email address in the correct format, like name@example.org",
                         "email")
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(
            AccountError(f"Password must be {MIN_PASSWORD_LENGTH} characters or more", "password")
        )
    return errors


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(session: Session, *, name: str, email: str, password: str) -> User:
    errors = validate_new_user(name, email, password)
    if errors:
        raise errors[0]
    if find_user(session, email) is not None:
        raise AccountError("A user with this email address already exists", "email")
    user = User(name=name.strip(), email=normalise_email(email), password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def set_role(
    session: Session, user: User, place: Place, role: Role, *, actor: User | None = None
) -> Membership:
    """Give a user a role in a place (replacing any other role there), and audit it."""
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.place_id == place.id)
    )
    previous = membership.role if membership else None
    if membership is None:
        membership = Membership(user=user, place=place, role=role.value)
        session.add(membership)
    else:
        membership.role = role.value
    session.flush()
    audit.record(
        session, "role.set", actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else "command line", place_id=place.id,
        subject=user.email, detail={"from": previous, "to": role.value},
    )
    return membership


def remove_role(session: Session, user: User, place: Place, *, actor: User | None = None) -> bool:
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.place_id == place.id)
    )
    if membership is None:
        return False
    previous = membership.role
    session.delete(membership)
    session.flush()
    audit.record(
        session, "role.removed", actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else "command line", place_id=place.id,
        subject=user.email, detail={"from": previous},
    )
    return True


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    locked: bool = False


def sign_in(
    session: Session, email: str, password: str, *, ip: str = "",
    max_failures: int = 5, window_seconds: int = 900,
) -> SignInResult:
    """Check a password; too many failures for one address in the window lock it for a while.

    Failures are counted from the audit log so the limit holds across processes and restarts.
    """
    email_n = normalise_email(email)
    since = utcnow() - timedelta(seconds=window_seconds)
    failures = audit.count_since(session, "sign_in.failed", since, subject=email_n)
    if failures >= max_failures:
        audit.record(session, "sign_in.locked", subject=email_n, ip=ip)
        return SignInResult(None, locked=True)
    user = find_user(session, email_n)
    # Verify against a dummy hash when there is no such user, so timing reveals nothing.
    ok, new_hash = _hasher.verify_and_update(
        password, user.password_hash if user else _DUMMY_HASH
    )
    if user is None or not ok or not user.active:
        audit.record(session, "sign_in.failed", subject=email_n, ip=ip)
        return SignInResult(None)
    if new_hash:
        user.password_hash = new_hash
    user.last_sign_in = utcnow()
    audit.record(session, "sign_in", actor_id=user.id, actor_label=user.email, subject=email_n, ip=ip)
    return SignInResult(user)


_DUMMY_HASH = hash_password("not a real password, only for constant-time checks")


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id))) or 0)
