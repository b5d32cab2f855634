"""How often the suggested mapping equals the mapping `joinedup synth` wrote, field by field.

    .venv/bin/python bench/mapping_suggestions.py --people 150 --seeds 10

A field is right when the suggested column is the generator's and the date format is the
same, or when the analyst is asked for the order of day and month and the generator's format
is one of the two offered (the values could not decide it). Prints the share right, how many
fields were asked, and each wrong one.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from joinedup.insight.mapping import load_mapping
from joinedup.insight.readers import read_extract
from joinedup.insight.suggest import suggest_columns
from joinedup.synth.insight import generate_place


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    total = right = asked = extra = 0
    for seed in range(1, args.seeds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            place = generate_place(args.people, Path(tmp), seed=seed)
            for source in place.sources:
                mapping = load_mapping(place.mapping(source))
                chosen = suggest_columns(read_extract(place.extract(source), mapping.sheet)).by_field()
                for spec in mapping.columns:
                    got = chosen.get(spec.field)
                    total += 1
                    ask = bool(got and got.ask and got.date
                               and spec.format in (got.date.day_first, got.date.month_first))  # fmt: skip
                    ok = got is not None and got.header == spec.column and (got.format == spec.format or ask)
                    asked += ask
                    right += ok
                    if not ok:
                        print(f"  wrong: seed {seed} {source}.{spec.field}: {got and got.reason}")
                wrong_extra = set(chosen) - {s.field for s in mapping.columns}
                extra += len(wrong_extra)
    print(f"{args.seeds} seeds × {args.people} people: {right} of {total} fields right "
          f"({right / total:.1%}); {asked} asked for day/month order; {extra} fields suggested "
          "that the generator did not map")  # fmt: skip


if __name__ == "__main__":
    main()
