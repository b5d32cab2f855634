"""A lead signs in, starts a collaboration, writes its charter (meeting and correcting a
validation error on the way), and signs out."""

from __future__ import annotations

import pytest

from joinedup.places.roles import Role
from tests.support.axe import check_accessibility
from tests.support.browser import screenshot, sign_in, sign_out, submit
from tests.support.demo_like import email_for

pytestmark = pytest.mark.browser


def test_lead_writes_a_charter(page) -> None:
    sign_in(page, email_for(Role.LEAD))
    page.get_by_role("link", name="Northbrook").first.click()
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Collaborations").click()
    page.get_by_role("button", name="Start a collaboration").click()

    page.get_by_label("What is the collaboration called?").fill("Hospital to home")
    submit(page, page.get_by_role("button", name="Start the collaboration"))
    assert page.url.endswith("/collaborations/hospital-to-home/edit/questions")

    # The four questions, with the shared goal forgotten: a GOV.UK error names the field.
    page.get_by_label("1. What is the problem the collaboration tackles?").fill(
        "People wait in hospital for care at home to start.")
    page.get_by_label("4. How will the public value added be accounted for?").fill(
        "Delayed discharge days, costed with the unit cost database.")
    submit(page, page.get_by_role("button", name="Save", exact=True))
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert "Enter the goal the partners share" in summary.inner_text()
    assert page.title().startswith("Error: ")
    check_accessibility(page, "the four questions with an error")
    screenshot(page, "journey-questions-error")
    summary.get_by_role("link", name="Enter the goal the partners share").click()
    assert page.evaluate("document.activeElement.id") == "shared_goal"
    page.get_by_label("2. What is the goal the partners share?").fill("Home within a day of being ready.")
    submit(page, page.get_by_role("button", name="Save", exact=True))
    assert page.url.endswith("/collaborations/hospital-to-home")
    assert "The four questions saved as revision 2" in page.locator(".govuk-notification-banner").inner_text()

    # Partners: two take part, one has signed up.
    page.get_by_role("link", name="Change partners: what each offers and gives up").click()
    page.get_by_label("Northbrook and Vale NHS Foundation Trust is taking part").check()
    page.get_by_label("What does Northbrook and Vale NHS Foundation Trust offer?").fill("A discharge team")
    page.get_by_label("Northbrook Borough Council is taking part").check()
    page.get_by_label("What does Northbrook Borough Council offer?").fill("Same-day care assessments")
    page.get_by_label("What is Northbrook Borough Council prepared to give up? (optional)").fill(
        "Its own assessment forms")
    page.get_by_label("Who signed up for Northbrook Borough Council? (optional)").fill(
        "Director of Adult Social Care")
    council = page.get_by_role("group", name="Northbrook Borough Council", exact=True)
    council.get_by_label("Day").fill("3")
    council.get_by_label("Month").fill("3")
    council.get_by_label("Year").fill("2025")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Partners: what each offers and gives up saved" in page.inner_text("main")

    # An outcome measure.
    page.get_by_role("link", name="Change outcome measures").click()
    page.get_by_label("Name").fill("Delayed discharge days a month")
    page.get_by_label("Baseline").fill("180")
    page.get_by_label("Target").fill("60")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("2027")
    page.get_by_role("button", name="Save", exact=True).click()

    # Make it active.
    page.get_by_role("link", name="Change status").click()
    page.get_by_label("Active").check()
    page.get_by_role("button", name="Save", exact=True).click()
    main = page.inner_text("main")
    assert "Active" in main and "Delayed discharge days a month" in main
    assert "Signed up by Director of Adult Social Care on 3 March 2025" in main
    screenshot(page, "journey-charter")

    page.get_by_role("link", name="History of changes").click()
    assert "Revision 5" in page.inner_text("main")
    screenshot(page, "journey-history")

    sign_out(page)
    assert "/sign-in" in page.url and "You have signed out" in page.inner_text("main")
