"""Sign-in throttling: a growing wait for whoever keeps failing, never a lock on the account.

Failures are read from the audit log (``sign_in.failed`` rows carry the email address typed
and the client address), so the policy holds across processes and restarts. Two counts, over
the last ``window`` seconds:

- **account and address**: failures for this email address from this client address since its
  last successful sign-in there. Once there are ``account_free`` of them, each further try from
  that address must wait ``base_delay`` seconds after the last failure, doubling with every
  failure, up to ``max_delay``.
- **address**: failures from this client address for any email address (someone trying many
  accounts). The same growing wait applies once there are ``address_free`` of them.

An attempt that comes too soon is refused before the password is checked, and the client is
told how long to wait. Because every count includes the client address, failures from one
address never slow a sign-in from another: an attacker cannot lock an account's owner out.
Unknown email addresses are counted exactly as known ones, so throttling reveals nothing
about which accounts exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from joinedup import audit
from joinedup.audit import AuditEvent
from joinedup.db.base import utcnow

FAILED = "sign_in.failed"
THROTTLED = "sign_in.throttled"
SIGNED_IN = "sign_in"
SUBJECT_MAX = 254  # an email address is at most 254 characters; longer input is cut


class _Limits(Protocol):
    login_max_failures: int
    login_address_max_failures: int
    login_base_delay: int
    login_max_delay: int
    login_window_seconds: int


@dataclass(frozen=True)
class Policy:
    account_free: int = 5
    address_free: int = 20
    base_delay: int = 2
    max_delay: int = 900
    window: int = 3600

    @classmethod
    def from_settings(cls, settings: _Limits) -> Policy:
        return cls(
            account_free=max(1, settings.login_max_failures),
            address_free=max(1, settings.login_address_max_failures),
            base_delay=max(1, settings.login_base_delay),
            max_delay=max(1, settings.login_max_delay),
            window=max(1, settings.login_window_seconds),
        )

    def delay(self, failures: int, free: int) -> int:
        """Seconds to wait after the last of ``failures`` failures: 0 while within ``free``."""
        if failures < free:
            return 0
        # Cap the exponent too, so a huge count cannot make a huge integer.
        return min(self.max_delay, self.base_delay * 2 ** min(failures - free, 30))


@dataclass(frozen=True)
class Verdict:
    wait: int  # seconds the client must still wait; 0 means go ahead
    by: str = ""  # "account" or "address": which count made it wait


def subject(email: str) -> str:
    return email.strip().lower()[:SUBJECT_MAX]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)


def _failures(session: Session, *conditions: ColumnElement[bool]) -> tuple[int, datetime | None]:
    row = session.execute(
        select(func.count(AuditEvent.id), func.max(AuditEvent.at))
        .where(AuditEvent.action == FAILED, *conditions)
    ).one()
    return int(row[0] or 0), (_aware(row[1]) if row[1] is not None else None)


def check(session: Session, email: str, ip: str, policy: Policy, *,
          now: datetime | None = None) -> Verdict:
    """How long this client must still wait before trying this email address again."""
    now = now or utcnow()
    since = now - timedelta(seconds=policy.window)
    who = subject(email)
    last_success = session.scalar(
        select(func.max(AuditEvent.at))
        .where(AuditEvent.action == SIGNED_IN, AuditEvent.subject == who, AuditEvent.ip == ip,
               AuditEvent.at >= since)
    )
    if last_success is not None:
        since = max(since, _aware(last_success))
    verdicts = []
    for by, free, conditions in (
        ("account", policy.account_free,
         (AuditEvent.subject == who, AuditEvent.ip == ip, AuditEvent.at > since)),
        ("address", policy.address_free,
         (AuditEvent.ip == ip, AuditEvent.at >= now - timedelta(seconds=policy.window))),
    ):
        count, last = _failures(session, *conditions)
        delay = policy.delay(count, free)
        if delay and last is not None:
            remaining = int((last + timedelta(seconds=delay) - now).total_seconds() + 0.999)
            verdicts.append(Verdict(max(0, remaining), by))
    return max(verdicts, key=lambda v: v.wait, default=Verdict(0))


def record_failure(session: Session, email: str, ip: str, *, at: datetime | None = None,
                   detail: dict[str, str] | None = None) -> None:
    entry = audit.record(session, FAILED, subject=subject(email), ip=ip, detail=detail)
    if at is not None:
        entry.at = at


def record_throttled(session: Session, email: str, ip: str, verdict: Verdict, *,
                     now: datetime | None = None) -> None:
    """Audit a refused attempt, once per address per wait: a client hammering the form during
    its wait, with one email address or many, cannot fill the audit log."""
    now = now or utcnow()
    _, last_failure = _failures(session, AuditEvent.ip == ip)
    already = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == THROTTLED, AuditEvent.ip == ip,
            AuditEvent.at >= (last_failure or now - timedelta(seconds=verdict.wait)),
        )
    )
    if not already:
        audit.record(session, THROTTLED, subject=subject(email), ip=ip,
                     detail={"wait_seconds": verdict.wait, "by": verdict.by})


def recent_attempts(session: Session, emails: Sequence[str], *, days: int = 30,
                    limit: int = 200) -> list[AuditEvent]:
    """Failed and refused sign-ins for these email addresses, newest first."""
    if not emails:
        return []
    since = utcnow() - timedelta(days=days)
    stmt = (
        select(AuditEvent)
        .where(and_(AuditEvent.action.in_((FAILED, THROTTLED)), AuditEvent.at >= since,
                    AuditEvent.subject.in_([subject(e) for e in emails])))
        .order_by(AuditEvent.id.desc()).limit(limit)
    )
    return list(session.scalars(stmt))


def all_recent_attempts(session: Session, *, days: int = 30, limit: int = 200) -> list[AuditEvent]:
    """Every failed and refused sign-in (for the operator: includes unknown addresses)."""
    since = utcnow() - timedelta(days=days)
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.action.in_((FAILED, THROTTLED)), AuditEvent.at >= since)
        .order_by(AuditEvent.id.desc()).limit(limit)
    )
    return list(session.scalars(stmt))


def wait_words(seconds: int) -> str:
    """'20 seconds', '1 minute', '15 minutes', '8 hours': a time, rounded up, in plain words."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 2 * 3600 or seconds % 3600:
        minutes = -(-seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = seconds // 3600
    return f"{hours} hours"
