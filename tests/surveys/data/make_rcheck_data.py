"""Write the shipped dataset of the R cross-check (run once; the CSVs are committed).

    .venv/bin/python tests/surveys/data/make_rcheck_data.py

800 residents, deliberately unrepresentative by age, sex and area, with an experience
answer that depends on age so that weighting moves the estimate.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
AGES = ["16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]
AREAS = ["Northgate", "Riverside", "Southfields"]


def main() -> None:
    rng = np.random.default_rng(20261124)
    n = 800
    age = rng.choice(AGES, n, p=[0.05, 0.09, 0.12, 0.16, 0.22, 0.21, 0.15])
    sex = rng.choice(["female", "male"], n, p=[0.64, 0.36])
    area = rng.choice(AREAS, n, p=[0.55, 0.30, 0.15])
    young = np.isin(age, AGES[:3])
    p_yes = np.where(young, 0.25, 0.55)
    answer = np.where(rng.random(n) < p_yes, "yes", "no").astype(object)
    answer[rng.random(n) < 0.08] = ""  # don't know: left out of the base
    with (HERE / "rcheck_responses.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "age_band", "sex", "area", "ind"])
        for i in range(n):
            w.writerow([i + 1, age[i], sex[i], area[i], answer[i]])
    # Population margins of a place of 150,000 adults (age × sex shares roughly England's).
    shares = [0.140, 0.170, 0.165, 0.155, 0.155, 0.115, 0.100]
    female = [0.49, 0.505, 0.51, 0.51, 0.51, 0.52, 0.57]
    total = 150_000
    with (HERE / "rcheck_margins.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["variable", "level", "total"])
        for a, s, f in zip(AGES, shares, female, strict=True):
            w.writerow(["age_sex", f"{a} female", round(total * s * f, 3)])
            w.writerow(["age_sex", f"{a} male", round(total * s * (1 - f), 3)])
        for a, s in zip(AREAS, [0.40, 0.35, 0.25], strict=True):
            w.writerow(["area", a, round(total * s, 3)])


if __name__ == "__main__":
    main()
