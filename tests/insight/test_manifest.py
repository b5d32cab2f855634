"""`joinedup ingest --manifest`: a whole place in one process, checked whole before any file
is read, each file still whole or not at all."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.clikit import UserError
from joinedup.config import Settings
from joinedup.insight.manifest import ManifestError, load_manifest
from joinedup.synth.insight import generate_place


def _place(slug: str) -> None:
    """The place in the app database: `joinedup ingest` makes a store only for a place it holds."""
    code, text = _run("places", "create", slug.title(), "--slug", slug)
    assert code == 0, text


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, UserError):
        return 2, str(result.exception)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("manifest") / "place"
    code, text = _run("synth", "--people", "200", "--out", str(out), "--seed", "11")
    assert code == 0, text
    return out


def _counts(settings: Settings, place: str) -> dict[str, int]:
    path = Path(settings.insight_dir) / f"{place}.duckdb"
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(con.execute("SELECT source, count(*) FROM records GROUP BY source").fetchall())


def test_a_manifest_ingests_every_extract_in_one_process(cli_env: Settings, synth_dir: Path) -> None:
    place = generate_place(200, synth_dir.parent / "again", seed=11)
    _place("manifested")
    _place("one-by-one")
    code, summary = _run("ingest", "--place", "manifested", "--manifest", str(synth_dir / "place.toml"))
    assert code == 0, summary
    held = _counts(cli_env, "manifested")
    assert sorted(held) == sorted(place.sources)
    # The same records as one `joinedup ingest` per file would give.
    for source in place.sources:
        code, text = _run("ingest", str(place.extract(source)), "--place", "one-by-one",
                          "--mapping", str(place.mapping(source)))  # fmt: skip
        assert code == 0, text
    assert _counts(cli_env, "one-by-one") == held
    # One summary table naming every source; a second run changes nothing.
    assert "Ingested from place.toml" in summary
    assert all(s in summary for s in place.sources)
    code, text = _run("ingest", "--place", "manifested", "--manifest", str(synth_dir / "place.toml"))
    assert code == 0 and text.count("unchanged") >= len(place.sources)


def _write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_a_bad_manifest_names_every_problem_and_ingests_nothing(cli_env: Settings, synth_dir: Path) -> None:
    first, second = sorted(synth_dir.glob("*.toml"))[:2]
    extract = next(p for p in synth_dir.glob(f"{first.stem}.*") if p.suffix != ".toml")
    manifest = _write(synth_dir / "bad.toml", f'''
[[extract]]
file = "{extract.name}"
mapping = "{first.name}"

[[extract]]
file = "no-such-extract.csv"
mapping = "{second.name}"

[[extract]]
file = "{extract.name}"
mapping = "no-such-mapping.toml"

[[extract]]
file = "{extract.name}"
mapping = "{first.name}"
''')
    _place("badmanifest")
    code, text = _run("ingest", "--place", "badmanifest", "--manifest", str(manifest))
    assert code == 2
    assert "nothing was ingested" in text
    assert "extract 2: file 'no-such-extract.csv' does not exist" in text
    assert "extract 3: mapping 'no-such-mapping.toml' does not exist" in text
    assert f"source {first.stem!r} is also fed by extract 1" in text
    assert _counts(cli_env, "badmanifest") == {}


def test_an_extract_may_not_take_over_another_partners_source(cli_env: Settings, synth_dir: Path) -> None:
    mappings = [p for p in sorted(synth_dir.glob("*.toml")) if p.name not in {"place.toml", "bad.toml"}]
    first, second = mappings[:2]
    ex1 = next(p for p in synth_dir.glob(f"{first.stem}.*") if p.suffix != ".toml")
    _place("takeover")
    code, text = _run("ingest", str(ex1), "--place", "takeover", "--mapping", str(first))
    assert code == 0, text
    before = _counts(cli_env, "takeover")
    ex2 = next(p for p in synth_dir.glob(f"{second.stem}.*") if p.suffix != ".toml")
    body = f'[[extract]]\nfile = "{ex2.name}"\nmapping = "{second.name}"\nsource = "{first.stem}"\n'
    manifest = _write(synth_dir / "takeover.toml", body)
    code, text = _run("ingest", "--place", "takeover", "--manifest", str(manifest))
    assert code == 2 and f"source {first.stem!r} already holds" in text
    assert _counts(cli_env, "takeover") == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "lists no extracts"),
        ("[[extract]]\nfile = 'x.csv'\n", "give its mapping"),
        ("[[extract]]\nfile = 'x.csv'\nmapping = 'x.toml'\nsheet = 'A'\n", "unknown key 'sheet'"),
        ("extract = [", "is not valid TOML"),
    ],
)
def test_malformed_manifests(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        load_manifest(_write(tmp_path / "m.toml", body))


def test_giving_both_forms_is_refused(cli_env: Settings, synth_dir: Path) -> None:
    code, text = _run("ingest", "x.csv", "--place", "p", "--manifest", str(synth_dir / "place.toml"))
    assert code == 2 and "not both" in text
    code, text = _run("ingest", "--place", "p")
    assert code == 2 and "--manifest" in text
