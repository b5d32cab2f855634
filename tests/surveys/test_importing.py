"""CSV import: every row reported, valid rows kept even beside bad ones."""

from __future__ import annotations

from sqlalchemy.orm import Session

from joinedup.places.models import Place
from joinedup.surveys.importing import import_csv, template_csv
from joinedup.surveys.models import SurveyRound
from joinedup.surveys.results import answers_frame

HEADER = (
    "services_used,dignity,personalised,involved,retold_story,worked_together,"
    "better_together,age_band,sex,area"
)


def test_bad_rows_are_reported_and_good_rows_kept(session: Session, place: Place,
                                                  voice_round: SurveyRound) -> None:
    text = "\n".join([
        HEADER,
        "gp|hospital,always,often,never,yes,sometimes,One contact please,25-34,female,North",
        "gp,sometimes-ish,often,never,yes,never,,25-34,female,North",  # bad scale answer
        ",always,often,never,yes,never,,25-34,female,North",  # required services missing
        "none;gp,always,often,never,no,often,,16-24,male,Atlantis",  # two problems
        "police;council,never,never,hardly_ever,yes,never,,75+,prefer_not,South",
        "",
    ])
    report = import_csv(session, voice_round, place, text)
    assert report.imported == 2 and report.rejected == 3
    by_line = {r.line: r for r in report.rows}
    assert by_line[2].imported and by_line[6].imported
    assert "dignity" in by_line[3].errors[0]
    assert by_line[4].errors[0].startswith("services_used")
    assert len(by_line[5].errors) == 2
    frame = answers_frame(session, voice_round)
    assert sorted(frame["services_used"]) == ["council|police", "gp|hospital"]


def test_partner_may_be_given_by_name(session: Session, place: Place,
                                      readiness_round: SurveyRound) -> None:
    text = "partner,level,insight_1_practice,check_pooled_budget,check_pooled_budget_note\n" \
           "testville council,front_line,4,partly,Section 75\n" \
           "Nobody Ltd,front_line,4,yes,\n"
    report = import_csv(session, readiness_round, place, text)
    assert report.imported == 1
    assert "partner" in report.rows[1].errors[0]


def test_a_file_with_no_known_columns_is_refused_whole(session: Session, place: Place,
                                                       voice_round: SurveyRound) -> None:
    report = import_csv(session, voice_round, place, "name,email\nA,a@example.com\n")
    assert report.problem and report.imported == 0


def test_template_has_every_question(readiness_round: SurveyRound) -> None:
    header = template_csv(readiness_round).strip().split(",")
    assert header[:2] == ["partner", "level"]
    assert "check_pooled_budget_note" in header


def test_answers_may_be_the_words_on_the_form(session: Session, place: Place,
                                              readiness_round: SurveyRound) -> None:
    text = ("partner,level,insight_1_ambition,insight_1_practice,check_joint_board\n"
            "Testville Police,Front line,Essential,strongly disagree,Partly\n")
    report = import_csv(session, readiness_round, place, text)
    assert report.imported == 1, report.rows
    row = answers_frame(session, readiness_round).iloc[0]
    assert (row["level"], row["insight_1_ambition"], row["insight_1_practice"],
            row["check_joint_board"]) == ("front_line", "5", "1", "partly")
