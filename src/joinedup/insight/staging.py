"""Uploaded extracts kept on the server while an analyst maps them.

An extract uploaded without a mapping (or with one that is wrong) is kept here, so that
correcting the mapping does not mean choosing the file again. Each upload lives in its own
directory, ``<insight_dir>/staging/<place>/<token>/``, readable by the server's user only,
with the user who uploaded it: no one else can use it, it is never served back, it is
deleted after ingest or when the analyst cancels, and any left behind is deleted once it is
older than :data:`KEEP_FOR` (whenever the place's staging area is next used).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from joinedup.insight.store import insight_path

__all__ = ["KEEP_FOR", "Staged", "TooLarge", "discard", "find", "stage", "staging_dir", "sweep"]

KEEP_FOR = timedelta(hours=4)
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{20,64}$")
_META = "upload.json"


class TooLarge(ValueError):
    """The upload is larger than the limit; nothing was kept."""


@dataclass(frozen=True)
class Staged:
    token: str
    path: Path  # the extract itself, named extract<suffix>
    file_name: str  # as the analyst's computer named it (shown, never used as a path)
    user_id: int
    created_at: datetime

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now()) - self.created_at > KEEP_FOR


def staging_dir(insight_dir: Path, slug: str) -> Path:
    insight_path(insight_dir, slug)  # checks the slug cannot leave the directory
    return insight_dir / "staging" / slug


def stage(
    insight_dir: Path, slug: str, user_id: int, file_name: str, source: BinaryIO, max_bytes: int
) -> Staged:
    """Copy an upload (in chunks) into a new staging directory; TooLarge past max_bytes."""
    sweep(insight_dir, slug)
    root = staging_dir(insight_dir, slug)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(24)
    folder = root / token
    folder.mkdir(mode=0o700)
    shown = Path(file_name).name
    path = folder / ("extract" + Path(shown).suffix.lower())
    copied = 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(2**20):
                copied += len(chunk)
                if copied > max_bytes:
                    raise TooLarge(f"larger than {max_bytes:,} bytes")
                out.write(chunk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    created = datetime.now()
    meta = {"file_name": shown, "user_id": user_id, "created_at": created.isoformat()}
    (folder / _META).write_text(json.dumps(meta), encoding="utf-8")
    return Staged(token, path, shown, user_id, created)


def _read(folder: Path) -> Staged | None:
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        extract = next(p for p in folder.iterdir() if p.name.startswith("extract"))
        return Staged(folder.name, extract, str(meta["file_name"]), int(meta["user_id"]),
                      datetime.fromisoformat(meta["created_at"]))  # fmt: skip
    except (OSError, ValueError, KeyError, StopIteration):
        return None


def find(insight_dir: Path, slug: str, token: str, user_id: int) -> Staged | None:
    """The upload under ``token`` if it is this user's and has not expired, else None."""
    if not _TOKEN.match(token):
        return None
    sweep(insight_dir, slug)
    folder = staging_dir(insight_dir, slug) / token
    staged = _read(folder) if folder.is_dir() else None
    if staged is None or staged.user_id != user_id:
        return None
    if staged.expired():
        discard(staged)
        return None
    return staged


def discard(staged: Staged) -> None:
    shutil.rmtree(staged.path.parent, ignore_errors=True)


def _folders(insight_dir: Path, slug: str) -> Iterator[Path]:
    root = staging_dir(insight_dir, slug)
    if root.is_dir():
        yield from (p for p in root.iterdir() if p.is_dir())


def sweep(insight_dir: Path, slug: str, now: datetime | None = None) -> int:
    """Delete the place's staged uploads older than KEEP_FOR (and unreadable ones); how many."""
    removed = 0
    now = now or datetime.now()
    for folder in _folders(insight_dir, slug):
        staged = _read(folder)
        if staged is None:
            # Half-written (a copy in progress has no upload.json yet) or damaged: only
            # once old enough, so an upload being copied right now is not swept away.
            age = now - datetime.fromtimestamp(folder.stat().st_mtime)
            if age <= KEEP_FOR:
                continue
        elif not staged.expired(now):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed
