"""Staged uploads: one user's, never another's, deleted when they expire."""

from __future__ import annotations

import io
import os
import stat
from datetime import datetime
from pathlib import Path

import pytest

from joinedup.insight import staging


def test_a_staged_upload_is_its_users_only_and_expires(tmp_path: Path) -> None:
    staged = staging.stage(tmp_path, "northbrook", 7, "../../etc/Clients.CSV", io.BytesIO(b"a,b\n1,2\n"), 100)
    assert staged.path.read_bytes() == b"a,b\n1,2\n" and staged.path.name == "extract.csv"
    assert staged.file_name == "Clients.CSV"
    assert stat.S_IMODE(os.stat(staged.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(staged.path.parent).st_mode) == 0o700
    assert staging.find(tmp_path, "northbrook", staged.token, 7) == staged
    assert staging.find(tmp_path, "northbrook", staged.token, 8) is None
    assert staging.find(tmp_path, "other", staged.token, 7) is None
    assert staging.find(tmp_path, "northbrook", "../" + staged.token, 7) is None
    later = datetime.now() + staging.KEEP_FOR * 2
    assert staging.sweep(tmp_path, "northbrook", now=datetime.now()) == 0
    assert staging.sweep(tmp_path, "northbrook", now=later) == 1
    assert not staged.path.parent.exists()


def test_too_large_keeps_nothing(tmp_path: Path) -> None:
    with pytest.raises(staging.TooLarge):
        staging.stage(tmp_path, "northbrook", 7, "big.csv", io.BytesIO(b"x" * 5000), 1000)
    assert not any(staging.staging_dir(tmp_path, "northbrook").iterdir())
