"""The survey pages end to end through the ASGI app: a lead opens a round, a respondent
answers without an account, the lead closes it and reads the results."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.places.roles import Role
from joinedup.surveys.models import SurveyRound
from joinedup.surveys.rounds import create_round
from joinedup.synth.surveys import citizen_rows, readiness_rows
from tests.support.client import PageClient
from tests.support.factories import make_user


def _answer_readiness(client: PageClient, token: str, partner_id: str) -> None:
    start = client.get(f"/s/{token}")
    assert start.status_code == 200 and "Start now" in start.text
    r = client.post_form(f"/s/{token}/start", token_from=f"/s/{token}")
    assert r.status_code == 303
    location = r.headers["location"]
    page = client.get(location)
    assert "About you" in page.text
    # Leaving a required question out names it, and keeps what was given.
    r = client.post_form(location, {"partner": partner_id}, token_from=location)
    assert r.status_code == 400 and "Select an answer to: What level" in r.text
    r = client.post_form(location, {"partner": partner_id, "level": "front_line"},
                         token_from=location)
    assert r.status_code == 303
    while "/check" not in r.headers["location"]:
        nxt = r.headers["location"]
        page = client.get(nxt)
        keys = sorted(set(re.findall(r'name="([a-z_0-9]+_(?:ambition|practice))"', page.text)))
        data = {k: "4" if k.endswith("ambition") else "2" for k in keys}
        if "check_pooled_budget" in page.text:
            data = {"check_pooled_budget": "partly", "check_pooled_budget_note": "S75"}
        r = client.post_form(nxt, data, token_from=nxt)
        assert r.status_code == 303, r.text[:500]
    check = client.get(f"/s/{token}/check")
    assert "Check your answers" in check.text and "Testville Council" in check.text
    r = client.post_form(f"/s/{token}/submit", token_from=f"/s/{token}/check")
    assert r.headers["location"] == f"/s/{token}/done"
    assert "Answers sent" in client.get(f"/s/{token}/done").text
    # Coming back to the link on the same device goes to the confirmation, not a new start.
    again = client.get(f"/s/{token}", follow_redirects=False)
    assert (again.status_code == 303 and again.headers["location"] == f"/s/{token}/done") or (
        "You have already answered" in again.text)  # a used single-use link says so


def test_lead_runs_a_readiness_round_end_to_end(client: PageClient, session: Session,
                                                place: Place) -> None:
    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    base = "/places/testville/surveys"
    r = client.post_form(f"{base}/new", {
        "instrument": "readiness", "title": "Readiness spring",
        "opens-day": "1", "opens-month": "1", "opens-year": "2020",
        "closes-day": "1", "closes-month": "1", "closes-year": "2099"}, token_from=f"{base}/new")
    assert r.status_code == 303
    round_url = r.headers["location"]
    page = client.get(round_url)
    assert "The whole partnership" in page.text
    token = re.search(r"/s/([A-Za-z0-9_\-]+)</code>", page.text).group(1)
    partner_id = str(next(p.id for p in place.partners if p.name == "Testville Council"))
    client.cookies.clear()  # the respondent is someone else, with no account
    _answer_readiness(client, token, partner_id)
    # A tampered token is a 404.
    assert client.get(f"/s/{token}x").status_code == 404
    client.cookies.clear()
    client.sign_in(lead.email)
    assert client.post_form(f"{round_url}/close", token_from=round_url).status_code == 303
    results = client.get(f"{round_url}/results")
    assert results.status_code == 200
    # One respondent is below the minimum group size: nothing shown.
    assert "Fewer than 5 people have answered" in results.text
    client.cookies.clear()
    closed = client.get(f"/s/{token}")
    assert "This survey has closed" in closed.text


def test_single_use_link_answers_once(client: PageClient, session: Session, place: Place,
                                      readiness_round: SurveyRound) -> None:
    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    url = f"/places/testville/surveys/{readiness_round.id}"
    r = client.post_form(f"{url}/links", {"count": "2"}, token_from=url)
    assert r.headers["content-type"].startswith("text/csv")
    tokens = re.findall(r"/s/([A-Za-z0-9_\-]+)", r.text)
    assert len(tokens) == 2
    client.cookies.clear()
    # The open link is switched off once single-use links exist.
    assert client.get(f"/s/{readiness_round.open_token}").status_code == 404
    partner_id = str(place.partners[0].id)
    _answer_readiness(client, tokens[0], partner_id)
    client.cookies.clear()
    again = client.get(f"/s/{tokens[0]}")
    assert "You have already answered" in again.text


def _seed_results(session: Session, place: Place) -> tuple[SurveyRound, SurveyRound]:
    from joinedup.synth.surveys import _store  # the demo's own loader

    ready = create_round(session, place, instrument_key="readiness", title="R",
                         opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1))
    _store(session, ready, readiness_rows(place, 40, seed=1), ready.created_at)
    voice = create_round(session, place, instrument_key="citizen_voice", title="V",
                         opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1),
                         areas={"North": 30_000, "South": 20_000})
    rows, _ = citizen_rows(300, seed=2, areas=["North", "South"])
    _store(session, voice, rows, voice.created_at)
    session.commit()
    return ready, voice


def test_results_pages_charts_and_comparison(client: PageClient, session: Session,
                                             place: Place) -> None:
    ready, voice = _seed_results(session, place)
    analyst = make_user(session, place, Role.ANALYST)
    session.commit()
    client.sign_in(analyst.email)
    base = "/places/testville/surveys"
    page = client.get(f"{base}/{ready.id}/results")
    assert page.status_code == 200
    assert "Rhetoric and reality" in page.text and "Cronbach" in page.text
    for name in ("components", "gaps", "partners", "levels"):
        svg = client.get(f"{base}/{ready.id}/charts/{name}.svg")
        assert svg.status_code == 200 and svg.text.startswith("<svg")
        assert f'src="{base}/{ready.id}/charts/{name}.svg"' in page.text
    voice_page = client.get(f"{base}/{voice.id}/results")
    assert "Effective sample size" in voice_page.text and "UK adults" in voice_page.text
    assert client.get(f"{base}/{voice.id}/charts/measures.svg").status_code == 200
    assert client.get(f"{base}/{voice.id}/charts/nonsense.svg").status_code == 404
    assert client.get(f"{base}/{voice.id}/charts/partners.svg").status_code == 404
    assert client.get(f"{base}/{voice.id}/report").status_code == 200
    ready_csv = client.get(f"{base}/{ready.id}/results.csv")
    assert ready_csv.headers["content-type"].startswith("text/csv")
    assert "Engagement and democracy" in ready_csv.text and "partner: " in ready_csv.text
    voice_csv = client.get(f"{base}/{voice.id}/results.csv").text
    assert voice_csv.startswith("group,measure,n,weighted") and "area: North" in voice_csv
    home = client.get(base)
    assert f'href="{base}/{ready.id}/results"' in home.text
    for text in (home.text, page.text, voice_page.text):
        assert "&lt;" not in text  # no markup escaped into visible text
    cmp = client.get(f"{base}/compare")
    assert "Engagement and democracy" in cmp.text and "personalised" in cmp.text
    themes = client.get(f"{base}/{voice.id}/themes")
    assert themes.status_code == 200 and "Retelling my story" in themes.text


def test_viewers_cannot_read_results_and_partners_cannot_code(client: PageClient,
                                                              session: Session,
                                                              place: Place) -> None:
    ready, voice = _seed_results(session, place)
    viewer = make_user(session, place, Role.VIEWER)
    partner = make_user(session, place, Role.PARTNER)
    session.commit()
    client.sign_in(viewer.email)
    assert client.get(f"/places/testville/surveys/{ready.id}/results").status_code == 403
    client.cookies.clear()
    client.sign_in(partner.email)
    assert client.get(f"/places/testville/surveys/{ready.id}/results").status_code == 200
    assert client.get(f"/places/testville/surveys/{voice.id}/themes").status_code == 403
    assert client.get(f"/places/testville/surveys/{ready.id}").status_code == 403


def test_import_page_reports_rows(client: PageClient, session: Session, place: Place,
                                  voice_round: SurveyRound) -> None:
    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    url = f"/places/testville/surveys/{voice_round.id}/import"
    csv_text = ("services_used,dignity,age_band,sex,area\n"
                "gp,always,25-34,female,North\n"
                "gp,maybe,25-34,female,North\n")
    r = client.post(url, data={"csrf_token": client.csrf(url)},
                    files={"file": ("answers.csv", csv_text.encode(), "text/csv")})
    assert r.status_code == 200
    assert "1 imported, 1 rejected" in r.text and "dignity" in r.text


def test_lead_enters_population_margins(client: PageClient, session: Session, place: Place,
                                        voice_round: SurveyRound) -> None:
    from joinedup.surveys import results, weighting

    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    url = f"/places/testville/surveys/{voice_round.id}/margins"
    page = client.get(url)
    assert "ONS mid-2023" in page.text and 'name="m-16-24-female"' in page.text
    from joinedup.web.routers.surveys import _field

    form = {_field(weighting.age_sex_level(band, sex)): "1000"
            for band in weighting.AGE_BANDS for sex in weighting.SEXES}
    form[_field("75+ male")] = "2,000"
    form.update({_field("area North"): "10", _field("area South"): "30"})
    bad = client.post_form(url, {**form, "m-16-24-male": "lots"}, token_from=url)
    assert bad.status_code == 400 and "Enter the number of men aged 16-24" in bad.text
    ok = client.post_form(url, form, token_from=url)
    assert ok.status_code == 303
    session.expire_all()
    round_ = session.get(SurveyRound, voice_round.id)
    margins = results.margins_for(round_, place)
    assert margins.totals["age_sex"]["75+ male"] == 2000
    assert sum(margins.totals["age_sex"].values()) == 15_000
    assert margins.totals["area"] == {"North": 3750, "South": 11250}
    # The next round of the place starts from the margins entered here.
    from joinedup.surveys.rounds import create_round as new_round

    later = new_round(session, place, instrument_key="citizen_voice", title="Later",
                      opens_on=date(2027, 1, 1), closes_on=date(2027, 2, 1), areas=["North"])
    assert results.margins_for(later, place).totals["age_sex"]["75+ male"] == 2000


def test_results_compare_with_any_other_round(client: PageClient, session: Session,
                                              place: Place) -> None:
    from joinedup.synth.surveys import _store

    older = create_round(session, place, instrument_key="readiness", title="Round one",
                         opens_on=date(2024, 1, 1), closes_on=date(2024, 2, 1))
    _store(session, older, readiness_rows(place, 20, seed=8, uplift=-15), older.created_at)
    middle = create_round(session, place, instrument_key="readiness", title="Round two",
                          opens_on=date(2025, 1, 1), closes_on=date(2025, 2, 1))
    _store(session, middle, readiness_rows(place, 20, seed=9), middle.created_at)
    latest = create_round(session, place, instrument_key="readiness", title="Round three",
                          opens_on=date(2026, 1, 1), closes_on=date(2026, 2, 1))
    _store(session, latest, readiness_rows(place, 20, seed=10), latest.created_at)
    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    url = f"/places/testville/surveys/{latest.id}/results"
    default = client.get(url)
    assert "Change in practice since Round two" in default.text
    chosen = client.get(f"{url}?compare={older.id}")
    assert "Change in practice since Round one" in chosen.text
    assert client.get(f"{url}?compare=999999").status_code == 200  # unknown: the default


def test_empty_rounds_have_results_pages_that_say_so(client: PageClient, session: Session,
                                                     place: Place, readiness_round: SurveyRound,
                                                     voice_round: SurveyRound) -> None:
    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    base = "/places/testville/surveys"
    ready = client.get(f"{base}/{readiness_round.id}/results")
    assert ready.status_code == 200 and "Fewer than 5 people have answered" in ready.text
    voice = client.get(f"{base}/{voice_round.id}/results")
    assert voice.status_code == 200 and "no results are shown yet" in voice.text
    for rid, name in ((readiness_round.id, "components"), (readiness_round.id, "partners"),
                      (voice_round.id, "measures"), (voice_round.id, "themes")):
        assert client.get(f"{base}/{rid}/charts/{name}.svg").status_code == 200
    assert client.get(f"{base}/compare").status_code == 200


def test_the_server_answers_others_while_answers_are_imported(
        client: PageClient, session: Session, place: Place, voice_round: SurveyRound,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 7, section 3: the import is held until another request has been answered. Were
    it run on the server's event loop, nothing else could be answered and the hold would
    time out."""
    import threading

    from joinedup.surveys import importing

    lead = make_user(session, place, Role.LEAD)
    session.commit()
    client.sign_in(lead.email)
    url = f"/places/testville/surveys/{voice_round.id}/import"
    checking, answered = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}
    real = importing.import_csv

    def held(*args: object, **kwargs: object) -> object:
        checking.set()
        seen["answered while importing"] = answered.wait(timeout=30)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importing, "import_csv", held)
    token = client.csrf(url)
    outcome: dict[str, object] = {}
    csv_text = "services_used,dignity,age_band,sex,area\ngp,always,25-34,female,North\n"
    upload = threading.Thread(target=lambda: outcome.update(r=client.post(
        url, data={"csrf_token": token}, files={"file": ("a.csv", csv_text.encode(), "text/csv")})))
    upload.start()
    assert checking.wait(timeout=30), "the import never started"
    if client.get("/sign-in").status_code in {200, 303}:
        answered.set()
    upload.join(timeout=60)
    assert seen == {"answered while importing": True}
    assert getattr(outcome["r"], "status_code", None) == 200
