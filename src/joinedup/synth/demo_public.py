"""The demo's public page (issue 11): Northbrook opts in, so that `make demo` shows it.

The contact details and privacy notice are examples, and say so: a real place writes its own.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from joinedup.places.models import Place, User
from joinedup.places.public_page import PublicPageSettings, apply_public_page, published_page

DEMO_PRIVACY_NOTICE = (
    "This is an example privacy notice for the joinedup demo. It is not a real notice: a place "
    "publishes the notice its data protection officer agreed.\n\n"
    "The Northbrook partners share records about the people they serve so that they can plan "
    "services together. The figures on this page are counts for the whole place. Small counts "
    "are hidden and the rest rounded, so that no one can be identified.\n\n"
    "You can ask what the partners hold about you, and ask them to correct it, by writing to "
    "the contact below."
)


def load_demo_public_page(session: Session, place: Place, lead: User) -> None:
    if published_page(session, place) is not None:
        return  # already on: loading the demo again leaves the lead's edits alone
    apply_public_page(session, place, PublicPageSettings(
        enabled=True, contact_email="together@northbrook.example",
        contact_phone="01632 960000 (example number)",
        contact_address="Northbrook Partnership (example)\nTown Hall\nNorthbrook",
        privacy_notice=DEMO_PRIVACY_NOTICE, accessibility_statement=""), lead)
