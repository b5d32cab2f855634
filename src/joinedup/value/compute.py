"""Putting the account together: panel → comparison group → effects → value → who pays
and who gains → sensitivity. Called through :func:`joinedup.value.account.compute_account`."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from joinedup.value import did, inputs, panel
from joinedup.value.account import (
    Account,
    MeasureResult,
    MeasureSpec,
    Parameters,
    Programme,
    ValueInputError,
)
from joinedup.value.appraisal import value_account
from joinedup.value.matching import SMD_NOT_CREDIBLE, match

__all__ = ["compute", "followed_persons"]


def _comparison(
    con: duckdb.DuckDBPyConnection, prog: pd.DataFrame, p: Parameters, exclude: str | None
) -> tuple[pd.DataFrame, int, pd.DataFrame, str | None]:
    """Matched pairs (treated, control with its pseudo entry date), candidates, balance and,
    when not credible, why not."""
    everyone = con.execute("SELECT DISTINCT person_id FROM person_links").df()["person_id"].astype(str)
    candidates = everyone[~everyone.isin(set(prog["person_id"]))].sort_values().to_numpy()
    # Comparison persons take entry dates drawn from the programme's own, so both groups
    # are followed over the same calendar quarters and a trend affecting everyone cancels.
    rng = np.random.default_rng(p.seed)
    pseudo: np.ndarray | list[object] = (
        rng.choice(prog["entry_date"].to_numpy(), size=len(candidates)) if len(candidates) else []
    )
    cands = pd.DataFrame({"person_id": candidates, "entry_date": pseudo})
    if len(cands) < p.min_persons:
        return (
            pd.DataFrame(columns=["person_id", "entry_date"]),
            len(cands),
            pd.DataFrame(),
            "too few other persons",
        )
    both = pd.concat([prog[["person_id", "entry_date"]], cands], ignore_index=True)
    both["entry_date"] = pd.to_datetime(both["entry_date"]).dt.date
    cov = panel.covariates(con, both, p.window_before, exclude)
    matched = match(cov, prog["person_id"].to_numpy(), p.caliper_sd, p.seed)
    controls = cands.set_index("person_id").loc[matched.controls].reset_index()
    reason = None
    worst = float(np.nanmax(np.abs(matched.balance["smd_after"]))) if len(matched.controls) else np.inf
    if len(matched.controls) < max(p.min_persons, 0.5 * len(prog)):
        reason = f"only {len(matched.controls)} of {len(prog)} programme persons found a close match"
    elif worst > SMD_NOT_CREDIBLE:
        reason = f"after matching, a characteristic still differs by {worst:.2f} standard deviations"
    return controls, len(cands), matched.balance, reason


def _mean(frame: pd.DataFrame, key: str, post: int) -> float:
    values = frame.loc[frame["post"] == post, key]
    return float(values.mean()) if len(values) else 0.0


def _own_source(programme: Programme) -> str | None:
    return programme.origin.removeprefix("source:") if programme.origin.startswith("source:") else None


def _followed(programme: Programme, window: panel.DataWindow, p: Parameters) -> pd.DataFrame:
    """The programme persons whose whole window fits the data: the analysed cohort."""
    entries = pd.DataFrame(list(programme.entries), columns=["person_id", "entry_date"])
    fits = panel.fits_window(entries["entry_date"], window, p.window_before, p.window_after)
    return entries[fits].reset_index(drop=True)


def followed_persons(con: duckdb.DuckDBPyConnection, programme: Programme, p: Parameters) -> list[str]:
    """The ids of the persons an account of ``programme`` follows (for the nearby rule)."""
    window = panel.data_window(con, _own_source(programme))
    if window is None:
        return []
    return [str(x) for x in _followed(programme, window, p)["person_id"]]


def compute(
    con: duckdb.DuckDBPyConnection, programme: Programme, measures: Sequence[MeasureSpec], p: Parameters
) -> Account:
    inputs.check_parameters(p)
    if not measures:
        raise ValueInputError("Choose at least one measure", "measures")
    if len({m.key for m in measures}) != len(measures):
        raise ValueInputError("Two measures have the same name", "measures")
    for spec in measures:
        problem = inputs.measure_problem(con, spec)
        if problem:
            raise problem
    inputs.check_price_year(con, p.price_year)
    exclude = _own_source(programme)
    window = panel.data_window(con, exclude)
    if window is None:
        raise ValueInputError("The place has no linked events yet", "programme")
    prog = _followed(programme, window, p)
    if prog.empty:
        raise ValueInputError(
            f"No one's entry date leaves {p.window_before} quarters before and {p.window_after} after it "
            f"inside the place's data ({window.start:%d %B %Y} to {window.end:%d %B %Y}): choose shorter "
            "windows or check the entry dates",
            "entry_date",
        )
    if len(prog) < p.min_persons:
        raise ValueInputError(
            f"Only {len(prog)} programme persons can be followed, fewer than the place's smallest "
            f"publishable number ({p.min_persons})",
            "programme",
        )
    controls, n_candidates, balance, reason = _comparison(con, prog, p, exclude)
    credible = reason is None
    people = pd.concat(
        [prog.assign(treated=1), controls[["person_id", "entry_date"]].assign(treated=0)], ignore_index=True
    )
    people["entry_date"] = pd.to_datetime(people["entry_date"]).dt.date
    # A comparison person is in the panel once per match, under its own id.
    people["person_id"] = np.where(
        people["treated"] == 1, people["person_id"], "c:" + people["person_id"].astype(str)
    )
    con_people = people.assign(person_id=people["person_id"].str.removeprefix("c:"))
    frame = panel.measure_panel(con, con_people, measures, p.window_before, p.window_after, exclude)
    frame["person_id"] = np.repeat(people["person_id"].to_numpy(), p.window_before + p.window_after)
    frame["treated"] = np.repeat(people["treated"].to_numpy(), p.window_before + p.window_after)
    treated_panel = frame[frame["treated"] == 1]
    control_panel = frame[frame["treated"] == 0]
    matched_ids = set(controls["person_id"])
    results: list[MeasureResult] = []
    for spec in measures:
        naive = did.before_after(treated_panel, spec.key)
        est = did.diff_in_diff(frame, spec.key) if credible else naive
        better = -1.0 if spec.direction == "lower" else 1.0
        results.append(
            MeasureResult(
                spec.key,
                spec.label,
                spec.direction,
                spec.unit_cost_code,
                _mean(treated_panel, spec.key, 0),
                _mean(treated_panel, spec.key, 1),
                _mean(control_panel, spec.key, 0) if credible else None,
                _mean(control_panel, spec.key, 1) if credible else None,
                est.effect,
                est.se,
                est.ci_low,
                est.ci_high,
                "did" if credible else "before_after",
                naive.effect,
                est.effect * better > 0,
            )
        )
    return value_account(
        con,
        programme,
        measures,
        p,
        results,
        len(prog),
        n_candidates,
        len(matched_ids),
        len(programme.entries) - len(prog),
        window,
        credible,
        reason,
        balance,
    )
