"""Accounts: creating users, hashing passwords with argon2id, signing in (throttled by
places.throttle), changing passwords, and ending sessions when access is taken away."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.db.base import utcnow
from joinedup.places import sessions, throttle
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


def remove_role(
    session: Session, user: User, place: Place, *, actor: User | None = None, keep_session: str = ""
) -> bool:
    """Take away a user's role in a place, and end their sessions (all of them, or all but
    ``keep_session`` when people remove their own role), so that losing access is immediate."""
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.place_id == place.id)
    )
    if membership is None:
        return False
    previous = membership.role
    session.delete(membership)
    session.flush()
    sessions.end_all(session, user.id, sessions.Why.ROLE_REMOVED, keep=keep_session)
    # The place's audit log is not told how many sessions ended: that would say whether the
    # person is signed in, which is not the place's business.
    audit.record(
        session, "role.removed", actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else "command line", place_id=place.id,
        subject=user.email, detail={"from": previous},
    )
    return True


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    wait: int = 0  # seconds this client must wait before trying again (throttled)


def sign_in(
    session: Session, email: str, password: str, *, ip: str = "",
    policy: throttle.Policy | None = None,
) -> SignInResult:
    """Check a password, unless this client has failed too often lately (see places.throttle):
    then it is told to wait, and the password is not even checked."""
    verdict = throttle.check(session, email, ip, policy or throttle.Policy())
    if verdict.wait:
        throttle.record_throttled(session, email, ip, verdict)
        return SignInResult(None, wait=verdict.wait)
    user = find_user(session, email)
    # Verify against a dummy hash when there is no such user, so timing reveals nothing.
    ok, new_hash = _hasher.verify_and_update(
        password, user.password_hash if user else _DUMMY_HASH
    )
    if user is None or not ok or not user.active:
        throttle.record_failure(session, email, ip)
        return SignInResult(None)
    if new_hash:
        user.password_hash = new_hash
    user.last_sign_in = utcnow()
    audit.record(session, "sign_in", actor_id=user.id, actor_label=user.email,
                 subject=throttle.subject(email), ip=ip)
    return SignInResult(user)


@dataclass(frozen=True)
class PasswordChange:
    errors: dict[str, str]  # by form field; empty when the password was changed
    wait: int = 0  # seconds to wait: too many wrong current passwords from this client


def change_password(
    session: Session, user: User, *, current: str, new: str, confirm: str, ip: str = "",
    keep_session: str = "", policy: throttle.Policy | None = None,
) -> PasswordChange:
    """A signed-in person changes their own password; every other session of theirs ends.

    A wrong current password counts as a failed sign-in (and is throttled the same way), so
    someone at an unlocked screen cannot use this form to guess it."""
    errors: dict[str, str] = {}
    if not current:
        errors["current"] = "Enter your current password"
    if len(new) < MIN_PASSWORD_LENGTH:
        errors["new"] = f"Enter a new password of {MIN_PASSWORD_LENGTH} characters or more"
    elif new != confirm:
        errors["confirm"] = "Enter the same new password twice"
    if errors:
        return PasswordChange(errors)
    verdict = throttle.check(session, user.email, ip, policy or throttle.Policy())
    if verdict.wait:
        throttle.record_throttled(session, user.email, ip, verdict)
        return PasswordChange({"current": "Too many wrong passwords. Wait "
                               f"{throttle.wait_words(verdict.wait)}, then try again"}, verdict.wait)
    if not _hasher.verify(current, user.password_hash):
        throttle.record_failure(session, user.email, ip, detail={"form": "change password"})
        return PasswordChange({"current": "Your current password is not right"})
    user.password_hash = hash_password(new)
    ended = sessions.end_all(session, user.id, sessions.Why.PASSWORD_CHANGED, keep=keep_session)
    audit.record(session, "password.changed", actor_id=user.id, actor_label=user.email,
                 subject=user.email, ip=ip, detail={"sessions_ended": ended})
    return PasswordChange({})


def reset_password(session: Session, user: User, password: str) -> int:
    """The operator sets a new password (for someone who forgot theirs); every session of that
    person ends. Returns how many sessions ended. Raises AccountError if it is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Password must be {MIN_PASSWORD_LENGTH} characters or more", "password")
    user.password_hash = hash_password(password)
    ended = sessions.end_all(session, user.id, sessions.Why.PASSWORD_CHANGED)
    audit.record(session, "password.reset", actor_label="command line", subject=user.email,
                 detail={"sessions_ended": ended})
    return ended


def set_active(session: Session, user: User, active: bool) -> int:
    """Deactivate (no sign-in, every session ends) or reactivate an account; the operator's
    way to remove someone while keeping what the audit log says they did."""
    user.active = active
    ended = 0 if active else sessions.end_all(session, user.id, sessions.Why.DEACTIVATED)
    audit.record(session, "account.activated" if active else "account.deactivated",
                 actor_label="command line", subject=user.email, detail={"sessions_ended": ended})
    return ended


_DUMMY_HASH = hash_password("not a real password, only for constant-time checks")


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id))) or 0)
