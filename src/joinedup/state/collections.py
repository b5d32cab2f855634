"""Collections: places' packages kept together to compare, on disk under the data directory.

A collection is a folder ``<data_dir>/collections/<id>/`` holding ``collection.json`` (its
name and owner) and the packages as uploaded (zips), so that a package that fails its
checks is still listed with its problem. Packages are public aggregates, so no app-database
table is needed: the owner is a user id, and the demo collection has no owner (every
signed-in user may see it; nobody may change it through the web).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from joinedup.state.load import LoadedPackage, load_zip

__all__ = ["DEMO_ID", "Collection", "add_package", "create", "find", "load_packages",
           "remove_package", "visible_to"]

DEMO_ID = "demo"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 120


@dataclass(frozen=True)
class Collection:
    id: str
    name: str
    owner_id: int | None
    path: Path

    def can_change(self, user_id: int) -> bool:
        return self.owner_id is not None and self.owner_id == user_id

    def can_see(self, user_id: int) -> bool:
        return self.owner_id is None or self.owner_id == user_id

    def package_names(self) -> list[str]:
        folder = self.path / "packages"
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def root(data_dir: Path) -> Path:
    return Path(data_dir) / "collections"


def find(data_dir: Path, cid: str) -> Collection | None:
    if not _ID.match(cid):
        return None
    path = root(data_dir) / cid
    try:
        info = json.loads((path / "collection.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    owner = info.get("owner_id")
    return Collection(cid, str(info.get("name") or cid), owner if isinstance(owner, int) else None, path)


def visible_to(data_dir: Path, user_id: int) -> list[Collection]:
    base = root(data_dir)
    if not base.exists():
        return []
    found = [find(data_dir, p.name) for p in sorted(base.iterdir()) if p.is_dir()]
    return sorted((c for c in found if c is not None and c.can_see(user_id)),
                  key=lambda c: (c.owner_id is not None, c.name.lower()))


def create(data_dir: Path, name: str, owner_id: int | None, cid: str | None = None) -> Collection:
    cid = cid or secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")
    path = root(data_dir) / cid
    (path / "packages").mkdir(parents=True, exist_ok=True)
    (path / "collection.json").write_text(
        json.dumps({"name": name.strip()[:MAX_NAME], "owner_id": owner_id}), encoding="utf-8")
    found = find(data_dir, cid)
    assert found is not None
    return found


def safe_name(filename: str) -> str:
    stem = _SAFE.sub("-", Path(filename).name).strip(".-") or "package"
    return stem if stem.endswith(".zip") else f"{stem}.zip"


def add_package(collection: Collection, filename: str, data: bytes) -> str:
    """Keep an uploaded package (a zip); the same name replaces the earlier one."""
    name = safe_name(filename)
    folder = collection.path / "packages"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.part"
    tmp.write_bytes(data)
    tmp.replace(folder / name)
    return name


def remove_package(collection: Collection, name: str) -> bool:
    path = collection.path / "packages" / name
    if name not in collection.package_names():
        return False
    path.unlink()
    return True


def load_packages(collection: Collection) -> list[LoadedPackage]:
    folder = collection.path / "packages"
    return [load_zip((folder / n).read_bytes(), n) for n in collection.package_names()]


def replace_demo(data_dir: Path, packages: dict[str, bytes]) -> Collection:
    """The demo collection, with the given packages (file name → zip) and nothing else."""
    path = root(data_dir) / DEMO_ID
    if path.exists():
        shutil.rmtree(path)
    demo = create(data_dir, "Demo places", None, DEMO_ID)
    for name, data in packages.items():
        add_package(demo, name, data)
    return demo
