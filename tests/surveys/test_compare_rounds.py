"""The staff-beside-citizen page: the lead chooses the rounds, a round too small to show is
said to be so (never silently taken because it is newest), and the linked data stand beside
both as a third witness."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.places.roles import Role
from joinedup.surveys.rounds import create_round
from joinedup.synth.surveys import _store, citizen_rows, readiness_rows
from tests.support.client import PageClient
from tests.support.factories import make_user

BASE = "/places/testville/surveys/compare"


def _rounds(session: Session, place: Place) -> dict[str, int]:
    made = {}
    readiness = (("Spring readiness", date(2026, 1, 1), 40), ("Tiny readiness", date(2026, 6, 1), 2))
    for title, opens, n in readiness:
        r = create_round(session, place, instrument_key="readiness", title=title, opens_on=opens,
                         closes_on=date(opens.year, opens.month + 1, 1))
        _store(session, r, readiness_rows(place, n, seed=n), r.created_at)
        made[title] = r.id
    voice = create_round(session, place, instrument_key="citizen_voice", title="Residents 2026",
                         opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1),
                         areas={"North": 30_000, "South": 20_000})
    rows, _ = citizen_rows(300, seed=2, areas=["North", "South"])
    _store(session, voice, rows, voice.created_at)
    made["Residents 2026"] = voice.id
    session.commit()
    return made


def test_the_newest_round_too_small_is_not_silently_taken(client: PageClient, session: Session,
                                                          place: Place) -> None:
    made = _rounds(session, place)
    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    page = client.get(BASE)
    assert page.status_code == 200
    # Before: the newest round (2 answers) was taken and the staff column was empty, unexplained.
    assert "Staff: Spring readiness (40 people)" in page.text
    assert "The newest round, Tiny readiness, has too few answers to show" in page.text
    # Both rounds can be chosen, the one shown selected.
    assert f'<option value="{made["Tiny readiness"]}"' in page.text
    assert f'<option value="{made["Spring readiness"]}" selected' in page.text


def test_a_chosen_round_too_small_is_said_to_be(client: PageClient, session: Session, place: Place) -> None:
    made = _rounds(session, place)
    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    page = client.get(f"{BASE}?staff={made['Tiny readiness']}&residents={made['Residents 2026']}")
    assert "Tiny readiness has 2 answers: too few to show results" in page.text
    assert "No staff results to show." in page.text
    # Nonsense or another place's round: the default, not an error page.
    assert client.get(f"{BASE}?staff=abc").status_code == 200
    assert "not a round of this place" in client.get(f"{BASE}?staff=999999").text


def test_without_linked_records_the_third_witness_says_so(client: PageClient, session: Session,
                                                          place: Place) -> None:
    _rounds(session, place)
    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    page = client.get(BASE)
    assert "What the linked records say" in page.text and "No linked records yet." in page.text
