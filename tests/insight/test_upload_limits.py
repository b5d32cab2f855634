"""The upload page under load (issue 7, section 3): the server keeps answering others while
an upload is checked, and a zip bomb or an oversized file gets one clear message."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from joinedup.config import Settings
from joinedup.insight.ingest import IngestError
from joinedup.places.roles import Role
from tests.support.client import PageClient
from tests.support.demo_like import DEMO_PASSWORD, DemoLike, demo, email_for  # noqa: F401

from .conftest import MAPPING, ROWS
from .test_ingest_limits import write_bomb

UPLOAD = "/places/northbrook/insight/upload"
CSV = ("\n".join(",".join(r) for r in ROWS) + "\n").encode()


def _post(client: PageClient, token: str, extract: tuple[str, bytes], source: str = "housing") -> Any:
    return client.post(
        UPLOAD,
        data={"csrf_token": token, "source": source},
        files={"extract": (extract[0], extract[1], "application/octet-stream"),
               "mapping_file": ("housing.toml", MAPPING.encode(), "text/plain")},
        follow_redirects=False,
    )  # fmt: skip


@pytest.fixture
def analyst(client: PageClient, demo: DemoLike) -> PageClient:  # noqa: F811
    client.sign_in(email_for(Role.ANALYST), DEMO_PASSWORD)
    return client


def test_the_server_answers_others_while_an_upload_is_checked(
    analyst: PageClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is held until another request has been answered. Were it run on the
    server's event loop, nothing else could be answered and the hold would time out."""
    checking = threading.Event()
    answered = threading.Event()
    seen: dict[str, bool] = {}

    def slow_check(*args: object, **kwargs: object) -> None:
        checking.set()
        seen["answered while checking"] = answered.wait(timeout=30)
        raise IngestError("held by the test")

    monkeypatch.setattr("joinedup.web.routers.insight_sources.ingest_with_mapping", slow_check)
    token = analyst.csrf(UPLOAD)
    outcome: dict[str, Any] = {}
    upload = threading.Thread(target=lambda: outcome.update(r=_post(analyst, token, ("h.csv", CSV))))
    upload.start()
    assert checking.wait(timeout=30), "the upload never reached its check"
    other = analyst.get("/sign-in")
    if other.status_code in {200, 303}:
        answered.set()
    upload.join(timeout=60)
    assert seen == {"answered while checking": True}
    assert outcome["r"].status_code == 400 and "held by the test" in outcome["r"].text


def test_a_zip_bomb_upload_gets_a_clear_message(analyst: PageClient, tmp_path: Path) -> None:
    bomb = write_bomb(tmp_path / "housing.xlsx", unpacked_mb=30)
    response = _post(analyst, analyst.csrf(UPLOAD), ("housing.xlsx", bomb.read_bytes()))
    assert response.status_code == 400
    assert "unpacks to" in response.text and "JOINEDUP_INGEST_MAX_COMPRESSION_RATIO" in response.text


def test_an_upload_over_the_size_limit_is_refused_naming_the_setting(
    analyst: PageClient, settings: Settings
) -> None:
    settings.ingest_max_upload_mb = 1
    big = CSV + b"".join(f"F{i},Ann,Lee,05/06/1970,W1A 1HQ,,\n".encode() for i in range(60_000))
    assert len(big) > 2**20
    response = _post(analyst, analyst.csrf(UPLOAD), ("housing.csv", big))
    assert response.status_code == 400
    assert "larger than 1 MB" in response.text and "JOINEDUP_INGEST_MAX_UPLOAD_MB" in response.text
    ok = _post(analyst, analyst.csrf(UPLOAD), ("housing.csv", CSV))
    assert ok.status_code == 303
