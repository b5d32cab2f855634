"""Publish a place's state of collaboration: gather its controlled figures, write the package.

Also writes a package as a zip (for the web upload and for sending to a regional body).
"""

from __future__ import annotations

import io
import zipfile
from contextlib import ExitStack
from pathlib import Path

import duckdb
from sqlalchemy.orm import Session

from joinedup.config import Settings
from joinedup.insight.context import place_context
from joinedup.insight.disclosure import DisclosureRule
from joinedup.insight.reference_data import seed_reference
from joinedup.insight.store import insight_path, open_store
from joinedup.places.models import Place
from joinedup.places.service import get_place
from joinedup.state.figures import place_figures
from joinedup.state.package import PackageError, PlaceMeta, write_package
from joinedup.state.schema import TABLES

__all__ = ["PackageError", "publish_place", "publish_with", "zip_package"]


def meta_of(place: Place) -> PlaceMeta:
    return PlaceMeta(slug=place.slug, name=place.name, adult_population=place.adult_population,
                     rule=DisclosureRule.for_place(place), min_group_size=place.min_group_size)


def publish_with(session: Session, place: Place, con: duckdb.DuckDBPyConnection | None,
                 out: Path, settings: Settings | None = None) -> Path:
    """Write the package of ``place`` to the directory ``out``; ``con`` is its insight store."""
    ctx = place_context(place.slug, settings)
    figures = place_figures(session, place, con, ctx)
    return write_package(meta_of(place), figures, out)


def publish_place(settings: Settings, slug: str, out: Path) -> Path:
    """Open the place's app record and insight store and write its package."""
    from joinedup.db.session import session_scope
    from joinedup.insight.pipeline import store_options

    with session_scope(settings) as session, ExitStack() as stack:
        place = get_place(session, slug)
        if place is None:
            raise PackageError(f"there is no place {slug!r}")
        con = None
        if insight_path(Path(settings.insight_dir), slug).exists():
            try:
                con = stack.enter_context(
                    open_store(Path(settings.insight_dir), slug, **store_options(settings)))
                seed_reference(con)
            except duckdb.IOException as exc:
                raise PackageError(f"the insight store of {slug!r} is busy or unreadable: "
                                   f"{exc}") from exc
        return publish_with(session, place, con, out, settings)


def zip_package(directory: Path) -> bytes:
    """The package's files in one zip, at its top level."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ["datapackage.json", *(t.path for t in TABLES)]:
            archive.write(directory / name, name)
    return buffer.getvalue()
