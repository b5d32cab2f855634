"""FEBRL4's missed and false pairs, each put in a category: never compared (no blocking rule
pairs the two records) or compared and scored below the threshold; and which fields differ.

    .venv/bin/python bench/febrl_misses.py [threshold] [--list]

Runs the same ingest and link as bench/insight_febrl.py, then scores every true pair with
the trained model (blocking on the truth, so pairs no rule finds get a score too) and tests
each of the model's blocking rules on them.
"""

from __future__ import annotations

import collections
import sys
import tempfile
from pathlib import Path

FIELDS = ["given_name", "surname", "date_of_birth", "street_number", "address_1", "address_2",
          "suburb", "postcode", "state"]  # fmt: skip


def _kind(a: object, b: object) -> str | None:
    import jellyfish

    a = "" if a is None or a != a else str(a).strip()
    b = "" if b is None or b != b else str(b).strip()
    if a == b:
        return None
    if not a or not b:
        return "missing"
    d = jellyfish.damerau_levenshtein_distance(a, b)
    return "typo" if d <= 2 and d < max(len(a), len(b)) / 2 else "replaced"


def main() -> None:
    import duckdb
    import pandas as pd

    from joinedup.insight import link_state, splink_backend
    from joinedup.insight import model as link_model
    from joinedup.insight.evaluate import evaluate_frames, links_frame
    from joinedup.insight.link import link_place
    from joinedup.insight.model_input import prepare_input, present_fields
    from joinedup.insight.pipeline import ingest_directory
    from joinedup.insight.store import connect
    from joinedup.synth.febrl import write_extracts

    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show = "--list" in sys.argv
    threshold = float(args[0]) if args else link_model.DEFAULT_THRESHOLD
    root = Path(tempfile.mkdtemp(prefix="joinedup-febrl-"))
    extracts = root / "extracts"
    extracts.mkdir()
    truth, raw = write_extracts(extracts)

    con = connect(root / "febrl.duckdb", memory_limit="2GB", threads=2)
    ingest_directory(con, extracts)
    result = link_place(con, work_dir=root / "work", threshold=threshold)
    ev = evaluate_frames(links_frame(con), truth)
    print(f"comparisons {result.comparisons}; {ev.summary()}")

    frame = prepare_input(con)
    stored = link_state.load_model(con)
    assert stored is not None
    tf = link_state.term_frequencies(con, stored.model_id)
    present = present_fields(frame)
    rules = link_model.blocking_rules(present)
    rule_sql = [r.get_blocking_rule("duckdb").blocking_rule_sql for r in rules]  # type: ignore[union-attr]

    ids = pd.Series(frame.column("unique_id").to_pylist())
    person = ids.str.split("|").str[1].str.split("-").str[1]
    import pyarrow as pa

    tframe = frame.append_column("truth_person", pa.array(person.tolist(), pa.string()))
    model = dict(stored.model)
    model["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": "l.truth_person = r.truth_person", "sql_dialect": "duckdb"}
    ]
    db_api = splink_backend.db_api_for("duckdb", memory_limit="2GB", threads=2,
                                       work_dir=root / "work2", spark_master=None)  # fmt: skip
    table = splink_backend.register(db_api, tframe, "duckdb")
    linker = splink_backend.linker_from_model(db_api, table, model, tf)
    scored = linker.inference.predict(warning_mode="never").as_pandas_dataframe()

    # Which rules pair each true pair (evaluated on the model input).
    c = duckdb.connect()
    c.register("f", tframe)
    c.register("s", scored[["unique_id_l", "unique_id_r"]])
    flags = ",\n".join(f"coalesce(({sql}), false) AS r{i}" for i, sql in enumerate(rule_sql))
    blocked = c.execute(
        f"SELECT s.unique_id_l, s.unique_id_r, {flags} FROM s "  # noqa: S608
        "JOIN f l ON l.unique_id = s.unique_id_l JOIN f r ON r.unique_id = s.unique_id_r"
    ).df()
    rcols = [f"r{i}" for i in range(len(rule_sql))]
    # Rules are symmetric in l/r except the custom ones; test both orders.
    blocked2 = c.execute(
        f"SELECT s.unique_id_l, s.unique_id_r, {flags} FROM s "  # noqa: S608
        "JOIN f l ON l.unique_id = s.unique_id_r JOIN f r ON r.unique_id = s.unique_id_l"
    ).df()
    blocked["compared"] = blocked[rcols].any(axis=1) | blocked2[rcols].any(axis=1)
    blocked["n_rules"] = blocked[rcols].sum(axis=1) + blocked2[rcols].sum(axis=1)
    scored = scored.merge(blocked[["unique_id_l", "unique_id_r", "compared", "n_rules"]])

    links = links_frame(con)
    links["uid"] = links["source"] + "|" + links["record_id"]
    pid = dict(zip(links["uid"], links["person_id"], strict=True))
    scored["linked"] = [pid.get(a) == pid.get(b) for a, b in
                        zip(scored["unique_id_l"], scored["unique_id_r"], strict=True)]  # fmt: skip
    missed = scored[~scored["linked"]].copy()
    # The quarantined records' true pairs are missed too (not in the model input at all).
    in_input = set(ids)
    gone = [r for r in truth.itertuples() if f"{r.source}|{r.record_id}" not in in_input]

    def fields_of(row: pd.Series) -> list[str]:
        a = row["unique_id_l"].split("|")[1]
        b = row["unique_id_r"].split("|")[1]
        ra = raw["a"].loc[a] if a in raw["a"].index else raw["b"].loc[a]
        rb = raw["b"].loc[b] if b in raw["b"].index else raw["a"].loc[b]
        out = []
        for f in FIELDS:
            k = _kind(ra[f], rb[f])
            if k:
                out.append(f"{f}:{k}")
        return out

    missed["diff"] = missed.apply(fields_of, axis=1)
    missed["cat"] = [
        "never compared" if not c_ else "compared, below threshold"
        for c_ in missed["compared"]
    ]
    print(f"\nmissed true pairs: {len(missed)} (+{len(gone)} records quarantined)")
    print(missed["cat"].value_counts().to_string())
    for cat, grp in missed.groupby("cat"):
        print(f"\n== {cat}: {len(grp)}")
        counts: collections.Counter[str] = collections.Counter()
        nfields: collections.Counter[int] = collections.Counter()
        for d in grp["diff"]:
            counts.update(x.split(":")[0] + ":" + x.split(":")[1] for x in d)
            nfields[len(d)] += 1
        print("  fields differing per pair:", dict(sorted(nfields.items())))
        for k, v in counts.most_common():
            print(f"  {k:28s} {v}")
        if cat != "never compared":
            print("  match_probability:",
                  grp["match_probability"].describe()[["min", "50%", "max"]].round(3).to_dict())
            gcols = [x for x in grp.columns if x.startswith("gamma_")]
            for g in gcols:
                print(f"  {g}: {dict(sorted(grp[g].value_counts().items()))}")
    if "--dump" in sys.argv:
        missed.to_csv(root / "missed.csv", index=False)
        print("missed pairs written to", root / "missed.csv")
    if show:
        pd.set_option("display.width", 250)
        pd.set_option("display.max_colwidth", 60)
        for r in missed.sort_values("cat").itertuples():
            a = r.unique_id_l.split("|")[1]
            b = r.unique_id_r.split("|")[1]
            print(f"\n[{r.cat}] p={r.match_probability:.3f} w={r.match_weight:.1f} {r.diff}")
            for x, src in ((a, raw["a"] if a in raw["a"].index else raw["b"]),
                           (b, raw["b"] if b in raw["b"].index else raw["a"])):  # fmt: skip
                row = src.loc[x]
                print("   ", x, "|", " | ".join(str(row[f]) for f in FIELDS))
    # False positives: records of different people in one person.
    lt = links.merge(truth, on=["source", "record_id"])
    fp = lt.groupby("person_id")["person"].nunique()
    print(f"\npersons holding more than one true person: {int((fp > 1).sum())}")
    for person_id in fp[fp > 1].index:
        members = lt[lt["person_id"] == person_id]
        print("  person", person_id)
        for r in members.itertuples():
            row = raw[r.source[-1]].loc[r.record_id]
            print("    ", r.record_id, "|", " | ".join(str(row[f]) for f in FIELDS))
        uids = set(members["source"] + "|" + members["record_id"])
        pairs = con.execute(
            "SELECT unique_id_l, unique_id_r, match_probability FROM link_pairs"
        ).df()
        pairs = pairs[pairs["unique_id_l"].isin(uids) & pairs["unique_id_r"].isin(uids)]
        print(pairs.to_string(index=False))
    # The gamma distribution of all true pairs, for reference.
    print("\nall true pairs compared:", int(scored["compared"].sum()), "of", len(scored))


if __name__ == "__main__":
    main()
