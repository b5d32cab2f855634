"""A place's opt-in public page: whether it is on, and the contact and notices it shows.

Off by default: a place has no row here until a lead turns the page on, and a row with
`enabled` false means the page was turned off. The notices are plain text written by the
place, because a public page must carry the place's own privacy notice and contact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Boolean, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from joinedup import audit
from joinedup.db.base import Base, Timestamped
from joinedup.places.models import Place, User

# Deliberately simple: one @, something before it, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

DEFAULT_ACCESSIBILITY = (
    "{place} wants as many people as possible to be able to use this page. It is built to "
    "meet the Web Content Accessibility Guidelines version 2.2 at level AA. You should be "
    "able to zoom in to 400% without the text spilling off the screen, and to use the page "
    "with a keyboard or a screen reader.\n\n"
    "If you find a problem, or need the information in another format, contact {contact}. "
    "If you are not happy with our reply, contact the Equality Advisory and Support Service."
)


class PublicPage(Timestamped, Base):
    __tablename__ = "place_public_pages"

    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_email: Mapped[str] = mapped_column(String(320))
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_address: Mapped[str] = mapped_column(Text, default="")
    privacy_notice: Mapped[str] = mapped_column(Text)
    # Empty means "use the statement joinedup ships", with the place's contact filled in.
    accessibility_statement: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class PublicPageSettings:
    enabled: bool
    contact_email: str
    contact_phone: str
    contact_address: str
    privacy_notice: str
    accessibility_statement: str


def page_for(session: Session, place: Place) -> PublicPage | None:
    return session.execute(select(PublicPage).where(PublicPage.place_id == place.id)).scalar_one_or_none()


def published_page(session: Session, place: Place) -> PublicPage | None:
    """The page only if it is on; callers treat None as "no such page" (a 404)."""
    page = page_for(session, place)
    return page if page is not None and page.enabled else None


def accessibility_text(place: Place, page: PublicPage) -> str:
    if page.accessibility_statement.strip():
        return page.accessibility_statement
    return DEFAULT_ACCESSIBILITY.format(place=place.name, contact=page.contact_email)


def parse_public_page(form: dict[str, str]) -> tuple[PublicPageSettings | None, dict[str, str]]:
    """Check the form; return the settings, or errors by field name (GOV.UK error summary)."""
    errors: dict[str, str] = {}
    enabled = form.get("enabled", "") == "yes"
    email = form.get("contact_email", "").strip()
    phone = form.get("contact_phone", "").strip()
    address = form.get("contact_address", "").strip()
    privacy = form.get("privacy_notice", "").strip()
    accessibility = form.get("accessibility_statement", "").strip()
    # Contact and privacy notice are needed only to publish; a lead turning the page off
    # must not be stopped by a field they no longer need.
    if enabled or email:
        if not email:
            errors["contact_email"] = "Enter a contact email address"
        elif len(email) > 320 or not _EMAIL.match(email):
            errors["contact_email"] = ("Enter a contact email address in the correct format, "
                                       "like name@example.org")
    if len(phone) > 40:
        errors["contact_phone"] = "Contact phone number must be 40 characters or fewer"
    if enabled and not privacy:
        errors["privacy_notice"] = "Enter the privacy notice"
    if errors:
        return None, errors
    return PublicPageSettings(enabled, email, phone, address, privacy, accessibility), {}


def apply_public_page(session: Session, place: Place, new: PublicPageSettings, actor: User) -> None:
    """Save the settings and audit what changed; the caller commits once, so nothing is half-saved."""
    page = page_for(session, place)
    before: dict[str, object] = {}
    if page is None:
        page = PublicPage(place_id=place.id, enabled=False, contact_email="", privacy_notice="")
        session.add(page)
    else:
        before = {"enabled": page.enabled, "contact_email": page.contact_email,
                  "contact_phone": page.contact_phone, "contact_address": page.contact_address,
                  "privacy_notice": page.privacy_notice,
                  "accessibility_statement": page.accessibility_statement}
    page.enabled = new.enabled
    page.contact_email = new.contact_email
    page.contact_phone = new.contact_phone
    page.contact_address = new.contact_address
    page.privacy_notice = new.privacy_notice
    page.accessibility_statement = new.accessibility_statement
    after = {k: getattr(page, k) for k in ("enabled", "contact_email", "contact_phone",
                                            "contact_address", "privacy_notice",
                                            "accessibility_statement")}
    # Notices are long: the audit says that they changed, not their whole text.
    changed = sorted(k for k in after if before.get(k) != after[k])
    if before.get("enabled", False) != new.enabled:
        action = "place.public_page_on" if new.enabled else "place.public_page_off"
    elif changed:
        action = "place.public_page_changed"
    else:
        return
    audit.record(session, action, actor_id=actor.id, actor_label=actor.email,
                 place_id=place.id, subject=place.slug, detail={"changed": changed})
