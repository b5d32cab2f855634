"""Benchmark: joinedup's persons against Splink 5 with a textbook model, on the same place.

``bench/pipeline_vs_splink.py`` gives plain Splink joinedup's own model (its comparisons,
blocking rules and training), so it measures what joinedup adds after the model. This asks
the other question the issue puts: what accuracy a plain Splink model reaches. The model is
the one Splink's tutorials build for people (the ``historical_50k`` and ``fake_1000``
examples), written for this place's fields:

* comparisons: ``ForenameSurnameComparison`` (which credits names swapped), with term
  frequencies; ``DateOfBirthComparison``; ``PostcodeComparison``; exact matches on NHS
  number, NI number, UPRN and sex; the address line exact or one or three edits apart;
* blocking: the tutorial's pairs of names, date of birth and postcode (and its district),
  the first letters of both names with the year of birth, and each identifier alone;
* training as the tutorial trains: the prior from deterministic rules (recall 0.6), u by
  random sampling (5 million pairs), EM blocked on the full name and on date of birth.

Both sides see the same cleaned records: those joinedup's ingest kept (its link input),
read from a place kept by ``bench/insight_synthetic.py --keep DIR``, whose persons are
joinedup's. Splink's pairs are clustered at joinedup's threshold (0.9) and at every
threshold of a sweep; the best of the sweep, chosen by looking at the truth, is an
advantage joinedup is not given. Pairwise precision, recall and F1 overall, and by hard
kind where the place has them.

    .venv/bin/python bench/insight_synthetic.py --records 40000 --hard --seed 1 --keep /tmp/h40
    .venv/bin/python bench/textbook_splink.py /tmp/h40
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

SWEEP = (0.1, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
COLUMNS = ("forename", "surname", "dob", "sex", "postcode", "nhs_number", "ni_number", "uprn", "address_line")


def textbook_settings(present: set[str]) -> Any:
    """Splink's tutorial model for people, for the fields the place holds."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons: list[Any] = [
        cl.ForenameSurnameComparison(
            "forename", "surname", forename_surname_concat_col_name="forename_surname"
        ).configure(term_frequency_adjustments=True),
    ]
    rules: list[Any] = [block_on("forename", "surname")]
    if "dob" in present:
        comparisons.append(cl.DateOfBirthComparison("dob", input_is_string=True))
        initials = ("substr(forename, 1, 2)", "substr(surname, 1, 2)", "substr(dob, 1, 4)")
        rules += [block_on("surname", "dob"), block_on("forename", "dob"), block_on(*initials)]
    if "postcode" in present:
        comparisons.append(cl.PostcodeComparison("postcode"))
        rules += [block_on("postcode", "forename"), block_on("postcode", "surname")]
        if "dob" in present:
            rules.append(block_on("split_part(postcode, ' ', 1)", "dob"))
    for column in ("nhs_number", "ni_number", "uprn"):
        if column in present:
            comparisons.append(cl.ExactMatch(column))
            rules.append(block_on(column))
    if "address_line" in present:  # free text: exact, then one or three edits apart
        comparisons.append(cl.LevenshteinAtThresholds("address_line", [1, 3]))
    if "sex" in present:
        comparisons.append(cl.ExactMatch("sex"))
    return SettingsCreator(
        link_type="dedupe_only", comparisons=comparisons, blocking_rules_to_generate_predictions=rules,
        retain_matching_columns=False,
    )  # fmt: skip


def link_textbook(records: pd.DataFrame, work: Path) -> tuple[dict[float, pd.DataFrame], dict[str, float]]:
    """Splink's clusters at each threshold of ``SWEEP`` (unique_id, cluster_id), and timings."""
    from splink import DuckDBAPI, Linker, block_on

    present = {c for c in COLUMNS if c in records and records[c].notna().any()}
    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    con.execute("SET threads = 2")
    con.execute(f"SET temp_directory = '{(work / 'splink-tmp').as_posix()}'")
    db_api = DuckDBAPI(connection=con)
    frame = records[["unique_id", *sorted(present)]].copy()
    frame["forename_surname"] = frame["forename"].fillna("") + " " + frame["surname"].fillna("")
    linker = Linker(db_api.register(frame, table_name="records_in"), textbook_settings(present),
                    log_level=logging.ERROR)  # fmt: skip
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    deterministic: list[Any] = [block_on("forename", "surname", *(["dob"] if "dob" in present else []))]
    if "postcode" in present and "dob" in present:
        deterministic.append(block_on("dob", "postcode"))
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=42)
    for rule in [block_on("forename", "surname"), *([block_on("dob")] if "dob" in present else [])]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    timings["train"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(SWEEP))
    timings["predict"] = time.perf_counter() - t0
    clusters: dict[float, pd.DataFrame] = {}
    t0 = time.perf_counter()
    for threshold in SWEEP:
        found = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        clusters[threshold] = con.execute(
            f"SELECT unique_id, cluster_id FROM {found.physical_name}"  # noqa: S608 (Splink's own table)
        ).df()
    timings["cluster_sweep"] = time.perf_counter() - t0
    return clusters, timings


def _as_links(clusters: pd.DataFrame) -> pd.DataFrame:
    split = clusters["unique_id"].str.split("|", n=1, expand=True)
    return pd.DataFrame({"source": split[0], "record_id": split[1], "person_id": clusters["cluster_id"]})


def _scores(links: pd.DataFrame, truth: pd.DataFrame, kinds: pd.DataFrame | None) -> dict[str, Any]:
    from joinedup.insight.evaluate import evaluate_by_kind, evaluate_frames

    ev = evaluate_frames(links, truth)
    out: dict[str, Any] = {"precision": round(ev.precision, 4), "recall": round(ev.recall, 4)}
    out["f1"] = round(ev.f1, 4)
    if kinds is not None:
        by_kind = evaluate_by_kind(links, truth, kinds)
        out["by_kind_f1"] = {kind: round(e.f1, 4) for kind, e in sorted(by_kind.items())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("place", type=Path, help="a directory kept by insight_synthetic.py --keep")
    args = parser.parse_args()
    from joinedup.insight.evaluate import links_frame, read_truth

    extracts = args.place / "extracts"
    con = duckdb.connect(str(args.place / "place.duckdb"), read_only=True)
    records = con.execute(f"SELECT unique_id, {', '.join(COLUMNS)} FROM link_input_cache").df()  # noqa: S608
    ours = links_frame(con)
    con.close()
    truth = read_truth(extracts / "truth.csv")
    kinds_path = extracts / "hard_cases.csv"
    kinds = pd.read_csv(kinds_path, dtype=str, keep_default_na=False) if kinds_path.exists() else None
    work = args.place / "textbook-work"
    work.mkdir(exist_ok=True)
    clusters, timings = link_textbook(records, work)
    splink = {str(t): _scores(_as_links(c), truth, kinds if t == 0.9 else None) for t, c in clusters.items()}
    best = max(splink, key=lambda t: splink[t]["f1"])
    print(json.dumps({
        "place": str(args.place), "records": len(records), "machine": platform.machine(),
        "joinedup": _scores(ours, truth, kinds),
        "textbook_splink_at_0.9": splink["0.9"],
        "textbook_splink_best_threshold": best, "textbook_splink_best": splink[best],
        "textbook_splink_sweep_f1": {t: s["f1"] for t, s in splink.items()},
        "textbook_splink_timings_s": {k: round(v, 1) for k, v in timings.items()},
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
