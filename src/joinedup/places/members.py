"""Managing the people in a place: add or invite someone with a role, change it, remove it.

Every change is audited (by places.users.set_role / remove_role). A place always keeps at
least one administrator, so no one can lock a place out of managing its users. Errors are
keyed by the form field they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.places.models import Membership, Place, User
from joinedup.places.roles import Role
from joinedup.places.users import (
    EMAIL_RE,
    MIN_PASSWORD_LENGTH,
    AccountError,
    create_user,
    find_user,
    normalise_email,
    remove_role,
    set_role,
)

Errors = dict[str, str]


class MemberError(ValueError):
    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class AddResult:
    user: User
    created: bool  # a new account, rather than an existing user given a role here


def members(session: Session, place: Place) -> list[Membership]:
    rows = session.scalars(
        select(Membership).join(User).where(Membership.place_id == place.id)
        .order_by(func.lower(User.name))
    )
    return list(rows)


def membership(session: Session, place: Place, user_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.place_id == place.id, Membership.user_id == user_id)
    )


def _admin_count(session: Session, place: Place) -> int:
    return int(session.scalar(
        select(func.count(Membership.id)).where(Membership.place_id == place.id,
                                                Membership.role == Role.ADMIN.value)
    ) or 0)


def _role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


def add_member(
    session: Session, place: Place, *, email: str, role: str, name: str = "", password: str = "",
    actor: User | None = None,
) -> AddResult:
    """Give someone a role in the place. If no account has the email, make one (which needs a
    name and a temporary password); if one does, the name and password are not used.

    Raises MemberError; nothing is written then."""
    errors: Errors = {}
    email_n = normalise_email(email)
    if not email_n:
        errors["email"] = "Enter the person's email address"
    elif not EMAIL_RE.match(email_n):
        errors["email"] = "Enter an email address in the correct format, like name@example.org"
    chosen = _role(role)
    if chosen is None:
        errors["role"] = "Select a role"
    existing = find_user(session, email_n) if "email" not in errors else None
    if existing is not None and membership(session, place, existing.id) is not None:
        errors["email"] = f"{existing.name} already has a role in {place.name}: change it instead"
    if existing is None and "email" not in errors:
        if not name.strip():
            errors["name"] = "Enter the person's full name: there is no account with this email address yet"
        if len(password) < MIN_PASSWORD_LENGTH:
            errors["password"] = (f"Enter a temporary password of {MIN_PASSWORD_LENGTH} characters or more: "
                                  "there is no account with this email address yet")
    if errors or chosen is None:
        raise MemberError(errors)
    created = existing is None
    try:
        user = existing or create_user(session, name=name, email=email_n, password=password)
    except AccountError as exc:
        raise MemberError({exc.field or "email": str(exc)}) from exc
    set_role(session, user, place, chosen, actor=actor)
    return AddResult(user, created)


def change_role(session: Session, place: Place, user_id: int, role: str, *,
                actor: User | None = None) -> Membership:
    found = membership(session, place, user_id)
    if found is None:
        raise LookupError(user_id)
    chosen = _role(role)
    if chosen is None:
        raise MemberError({"role": "Select a role"})
    if found.role == Role.ADMIN.value and chosen != Role.ADMIN and _admin_count(session, place) <= 1:
        raise MemberError({"role": f"{found.user.name} is the only administrator of {place.name}. "
                                   "Make someone else an administrator first"})
    return set_role(session, found.user, place, chosen, actor=actor)


def remove_member(session: Session, place: Place, user_id: int, *, actor: User | None = None) -> User:
    found = membership(session, place, user_id)
    if found is None:
        raise LookupError(user_id)
    if found.role == Role.ADMIN.value and _admin_count(session, place) <= 1:
        raise MemberError({"confirm": f"{found.user.name} is the only administrator of {place.name}, "
                                      "so their role cannot be removed. Make someone else an "
                                      "administrator first"})
    user = found.user
    remove_role(session, user, place, actor=actor)
    return user
