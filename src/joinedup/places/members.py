"""Managing the people in a place: invite someone with a role, change it, remove it.

Adding someone is always an invitation, whether or not an account with that email address
exists already, and the administrator is told the same either way: a place never learns about
an account (its name, its last sign-in, even that it exists) until its owner, signed in,
accepts the invitation. If there is no account yet, one is made with the name and temporary
password the administrator gives, so that the person can sign in to accept.

Every change is audited. A place always keeps at least one administrator, so no one can lock
a place out of managing its users. Errors are keyed by the form field they belong to.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.places.models import Invitation, Membership, Place, User
from joinedup.places.roles import Role
from joinedup.places.users import (
    EMAIL_RE,
    MIN_PASSWORD_LENGTH,
    find_user,
    hash_password,
    normalise_email,
    remove_role,
    set_role,
)

Errors = dict[str, str]


class MemberError(ValueError):
    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


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
) -> Invitation:
    """Invite someone to a role in the place. The name and a temporary password are always
    asked for, so that neither the questions nor the answer depend on whether an account with
    this email address exists; the password is used only if one has to be made.

    Raises MemberError; nothing is written then."""
    errors: Errors = {}
    email_n = normalise_email(email)
    if not email_n:
        errors["email"] = "Enter the person's email address"
    elif not EMAIL_RE.match(email_n) or len(email_n) > 254:
        errors["email"] = "Enter an email address in the correct format, like name@example.org"
    chosen = _role(role)
    if chosen is None:
        errors["role"] = "Select a role"
    if not name.strip():
        errors["name"] = "Enter the person's full name"
    elif len(name.strip()) > 200:
        errors["name"] = "Full name must be 200 characters or fewer"
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Enter a temporary password of {MIN_PASSWORD_LENGTH} characters or more"
    if "email" not in errors:
        # Only this place's own people and invitations are named: never another place's.
        member = session.scalar(
            select(Membership).join(User)
            .where(Membership.place_id == place.id, User.email == email_n)
        )
        if member is not None:
            errors["email"] = f"{member.user.name} already has a role in {place.name}: change it instead"
        elif _invitation_for(session, place, email_n) is not None:
            errors["email"] = (f"{email_n} has already been invited to {place.name}. Withdraw that "
                               "invitation first to send a different one")
    if errors or chosen is None:
        raise MemberError(errors)
    # Hash whether or not it will be used, so the time taken does not say if the account exists.
    password_hash = hash_password(password)
    if find_user(session, email_n) is None:
        session.add(User(name=name.strip(), email=email_n, password_hash=password_hash))
    invitation = Invitation(place=place, email=email_n, name=name.strip(), role=chosen.value,
                            invited_by_id=actor.id if actor else None)
    session.add(invitation)
    session.flush()
    audit.record(session, "invitation.made", place_id=place.id, subject=email_n,
                 detail={"role": chosen.value},
                 actor_id=actor.id if actor else None,
                 actor_label=actor.email if actor else "command line")
    return invitation


def _invitation_for(session: Session, place: Place, email: str) -> Invitation | None:
    return session.scalar(
        select(Invitation).where(Invitation.place_id == place.id, Invitation.email == email)
    )


def invitations(session: Session, place: Place) -> list[Invitation]:
    """The place's invitations still waiting for an answer, oldest first."""
    return list(session.scalars(
        select(Invitation).where(Invitation.place_id == place.id).order_by(Invitation.id)
    ))


def withdraw_invitation(session: Session, place: Place, invitation_id: int, *,
                        actor: User | None = None) -> Invitation:
    found = session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.place_id == place.id)
    )
    if found is None:
        raise LookupError(invitation_id)
    session.delete(found)
    session.flush()
    audit.record(session, "invitation.withdrawn", place_id=place.id, subject=found.email,
                 detail={"role": found.role},
                 actor_id=actor.id if actor else None,
                 actor_label=actor.email if actor else "command line")
    return found


def invitations_for(session: Session, user: User) -> list[Invitation]:
    """Invitations waiting for this person's answer (matched on their account's email)."""
    return list(session.scalars(
        select(Invitation).where(Invitation.email == normalise_email(user.email))
        .order_by(Invitation.id)
    ))


def answer_invitation(session: Session, user: User, invitation_id: int, *, accept: bool) -> Invitation:
    """The invited person accepts (and gets the role) or declines. Raises LookupError if the
    invitation is not theirs, so that nobody can answer for someone else."""
    found = session.scalar(
        select(Invitation).where(Invitation.id == invitation_id,
                                 Invitation.email == normalise_email(user.email))
    )
    if found is None:
        raise LookupError(invitation_id)
    place, role = found.place, Role(found.role)
    session.delete(found)
    session.flush()
    if accept and membership(session, place, user.id) is None:
        set_role(session, user, place, role, actor=user)
    audit.record(session, "invitation.accepted" if accept else "invitation.declined",
                 actor_id=user.id, actor_label=user.email, place_id=place.id, subject=user.email,
                 detail={"role": role.value})
    return found


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


def remove_member(session: Session, place: Place, user_id: int, *, actor: User | None = None,
                  keep_session: str = "") -> User:
    found = membership(session, place, user_id)
    if found is None:
        raise LookupError(user_id)
    if found.role == Role.ADMIN.value and _admin_count(session, place) <= 1:
        raise MemberError({"confirm": f"{found.user.name} is the only administrator of {place.name}, "
                                      "so their role cannot be removed. Make someone else an "
                                      "administrator first"})
    user = found.user
    remove_role(session, user, place, actor=actor, keep_session=keep_session)
    return user
