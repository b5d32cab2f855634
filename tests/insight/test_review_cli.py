"""`joinedup review list|check|show|decide|estimate`: the web review queue from the command line,
in the web's order; `show` is person-level and audited; mistakes change nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from joinedup.audit import AuditEvent
from joinedup.cli import app
from joinedup.clikit import UserError
from joinedup.config import Settings
from joinedup.insight import review, review_check
from joinedup.insight.store import connect
from tests.insight.test_review import SLUG, linked  # noqa: F401  (the linked place, built once)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    if isinstance(result.exception, UserError):
        return 2, str(result.exception)
    return result.exit_code, result.output


@pytest.fixture
def place(cli_env: Settings, linked: Path) -> Path:  # noqa: F811
    target = Path(cli_env.insight_dir)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(linked / "insight" / f"{SLUG}.duckdb", target / f"{SLUG}.duckdb")
    return target / f"{SLUG}.duckdb"


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    return connect(path, memory_limit="500MB", threads=1)


def _web_queue(path: Path) -> list[review.QueueItem]:
    con = _open(path)
    try:
        return review.queue(con, review.current_threshold(con))
    finally:
        con.close()


def _decisions(path: Path) -> list[tuple[str, str, str]]:
    con = _open(path)
    try:
        review.ensure_schema(con)
        return con.execute("SELECT unique_id_l, unique_id_r, decision FROM review_decisions").fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_list_gives_the_queue_in_the_web_order(place: Path) -> None:
    items = _web_queue(place)
    assert items, "the linked place should have pairs in the band"
    code, text = _run("review", "list", "--place", SLUG)
    assert code == 0, text
    numbered = [line.split(". ", 1) for line in text.splitlines() if line.split(". ", 1)[0].isdigit()]
    assert [int(n) for n, _key in numbered] == list(range(1, len(items) + 1))
    keys = [key for _n, key in numbered]
    assert keys == [item.pair_key for item in items]


@pytest.mark.slow
def test_show_puts_the_records_side_by_side_with_the_evidence_and_is_audited(
    place: Path, session: Session
) -> None:
    pair = _web_queue(place)[0]
    code, text = _run("review", "show", "--place", SLUG, pair.pair_key)
    assert code == 0, text
    for words in ("Forename", "Date of birth", "Before comparing (prior)", "Match weight in all"):
        assert words in text
    assert pair.unique_id_l.split("|", 1)[1] in text and pair.unique_id_r.split("|", 1)[1] in text
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "insight.view.review_pair"))
    assert [e.subject for e in events] == [f"pair:{pair.pair_key}"]


@pytest.mark.slow
def test_decide_keeps_the_decision_and_estimate_counts_it(place: Path, session: Session) -> None:
    pair = _web_queue(place)[0]
    code, text = _run("review", "decide", "--place", SLUG, pair.pair_key, "same")
    assert code == 0 and "Same person" in text, text
    assert _decisions(place) == [(pair.unique_id_l, pair.unique_id_r, "same")]
    assert pair.pair_key not in [i.pair_key for i in _web_queue(place)]
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "insight.review.decide"))
    # From the queue: kept, honoured, and left out of the estimate, which says so.
    code, text = _run("review", "estimate", "--place", SLUG)
    assert code == 0, text
    assert "0 pairs of the check sample decided" in text and "Not counted: 1 decision" in text
    # A pair drawn at random for the check sample counts.
    code, text = _run("review", "check", "--place", SLUG)
    assert code == 0 and "Drawn at random from the band" in text, text
    drawn = text.split()[-1]
    code, text = _run("review", "decide", "--place", SLUG, drawn, "different")
    assert code == 0, text
    code, text = _run("review", "estimate", "--place", SLUG)
    # 1, or 2 if the draw met the queue's pair first: a drawn pair counts with its decision.
    assert re.search(r"(1 pair|2 pairs) of the check sample decided", text)
    assert ("Precision in the band" in text) or ("Recall in the band" in text)


@pytest.mark.slow
def test_mistakes_change_nothing(place: Path) -> None:
    pair = _web_queue(place)[0]
    code, text = _run("review", "decide", "--place", SLUG, pair.pair_key, "maybe")
    assert code == 2 and "same, different or unsure" in text
    code, text = _run("review", "decide", "--place", SLUG, "no-such-pair", "same")
    assert code == 2 and "not a pair" in text
    code, text = _run("review", "decide", "--place", SLUG, f"{pair.unique_id_l}~nowhere|1", "same")
    assert code == 2 and "no longer held" in text
    code, text = _run("review", "show", "--place", SLUG, "x|1~y|2")
    assert code == 2 and "no longer held" in text
    # Two held records the model never scored together are not a pair to review.
    con = _open(place)
    scored = {(a, b) for a, b in con.execute("SELECT unique_id_l, unique_id_r FROM link_pairs").fetchall()}
    held = [r for (r,) in con.execute(
        "SELECT source || '|' || record_id FROM records ORDER BY 1 LIMIT 50").fetchall()]  # fmt: skip
    con.close()
    unscored = next((a, b) for a in held for b in held if a < b and (a, b) not in scored)
    code, text = _run("review", "decide", "--place", SLUG, "~".join(unscored), "different")
    assert code == 2 and "not a pair the model scored" in text
    # The records have since gone: refused, nothing saved.
    con = _open(place)
    source, record_id = pair.unique_id_r.split("|", 1)
    con.execute("DELETE FROM records WHERE source = ? AND record_id = ?", [source, record_id])
    con.close()
    code, text = _run("review", "decide", "--place", SLUG, pair.pair_key, "different")
    assert code == 2 and "no longer held" in text
    assert _decisions(place) == []
    code, text = _run("review", "list", "--place", "nowhere")
    assert code == 2 and "has no insight yet" in text


def _band_and_draws(path: Path) -> tuple[tuple[float, float], int]:
    con = _open(path)
    try:
        return review.band(con), review_check.estimate(con, review.current_threshold(con)).drawn
    finally:
        con.close()


def test_band_shows_and_sets_the_band_and_keeps_the_check_sample_honest(place: Path) -> None:
    code, text = _run("review", "band", "--place", SLUG)
    assert code == 0 and "Review band: 50% to 95% match probability." in text
    for _ in range(2):
        assert _run("review", "check", "--place", SLUG)[0] == 0
    (_, drawn) = _band_and_draws(place)
    assert drawn >= 2
    # Narrower: the draws inside it are still a random sample of it, so they stay.
    code, text = _run("review", "band", "--place", SLUG, "--high", "0.9")
    assert code == 0 and "Review band: 50% to 90% match probability (was 50% to 95%)." in text
    assert _band_and_draws(place) == ((0.5, 0.9), drawn) and "starts again" not in text
    # Further: the draws could not have reached the new part, so the sample starts again;
    # the analysts' decisions stay.
    left, right = _web_queue(place)[0].pair_key.split("~")
    assert _run("review", "decide", "--place", SLUG, f"{left}~{right}", "same")[0] == 0
    code, text = _run("review", "band", "--place", SLUG, "--low", "0.4", "--high", "0.999")
    assert code == 0 and "Review band: 40% to 99.9% match probability (was 50% to 90%)." in text
    assert f"check sample starts again: {drawn} earlier draws set aside" in " ".join(text.split())
    assert _band_and_draws(place) == ((0.4, 0.999), 0) and len(_decisions(place)) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--low", "0.9", "--high", "0.8"), "The band 90% to 80% is not a band"),
        (("--high", "0.3"), "The band 50% to 30% is not a band"),
        (("--low", "1.5"), "Invalid value for '--low': Input should be less than or equal to 1"),
        (("--high", "most"), "Invalid value for '--high': Input should be a valid number"),
    ],
)
def test_a_bad_band_changes_nothing(place: Path, args: tuple[str, ...], says: str) -> None:
    before = _band_and_draws(place)
    code, text = _run("review", "band", "--place", SLUG, *args)
    assert code != 0 and says in re.sub(r"[\s│]+", " ", text), text
    assert _band_and_draws(place) == before
