"""The account as it leaves the analyst role: disclosure-controlled, and hard to difference.

Analysts read the engine's exact account. Everyone else reads what :func:`publish` makes of
it, under the place's :class:`~joinedup.insight.disclosure.DisclosureRule`:

- **Sizes** (people followed, matched comparison, candidates, people left out) are rounded,
  and a size that was published before moves only when the true size has moved by at least
  the threshold since (*sticky rounding*). Two accounts of one collaboration computed a few
  people apart (a source re-ingested, a recompute) therefore publish the same sizes, and
  subtracting them gives nothing. Hidden when small.
- **Rates** (events per person per quarter) are derived only from controlled counts: the
  events behind each rate are rounded (hidden when small) and divided by the published size.
  A measure whose events are too few to publish is hidden with its reason, and the money is
  the account computed again *without* that measure (``without``), with the page saying which
  measure is left out and why: a total that included it, less the other measures, would give
  it away, so no published total ever includes a hidden measure. Without that second
  account the money is kept for analysts.
- **Money** that grows with the number of people (benefits, savings, the effect on each
  agency) is computed for the *published* number of people: the valuation is linear in it,
  so money scaled by published ÷ true size equals the valuation of the published cohort,
  and dividing it by anything published gives back the published size, not the true one.
  Costs are entered by partners, not counted, and are shown as entered.
- **No periods to subtract.** Only the saved windows are ever published (no quarter by
  quarter series, no windows chosen in the address), and sensitivity figures are rounded to
  two significant figures.
"""

from __future__ import annotations

import math
import re
from typing import Any

from joinedup.insight.disclosure import DisclosureRule, control_counts

__all__ = ["HIDDEN_MONEY", "hidden_measures", "money_leaves_out", "publish", "sticky_size", "withhold"]

HIDDEN_MONEY = (
    "A measure rests on too few events to publish, so the account's money is shown to analysts "
    "only: totals less the other measures would reveal it."
)
_MONEY_UNITS = {"£", "gbp", "pounds"}
# A count of people written into the engine's words ("only 12 of 153 programme persons
# found a close match", "× 153 persons"): the words must not carry the exact count.
_COUNT_IN_WORDS = re.compile(r"\b(\d[\d,]*)(?=( of \d| programme persons| persons| people))")


def sticky_size(true: int, previous: dict[str, Any] | None, rule: DisclosureRule) -> tuple[int | None, int]:
    """The published size and the true size it now rests on.

    ``previous`` is ``{"published": p, "basis": b}`` from the last publication: p is kept
    while the true size stays within the threshold of b."""
    if rule.is_small(true):
        return None, true
    if (
        previous
        and previous.get("published") is not None
        and abs(true - int(previous["basis"])) < rule.threshold
    ):
        return int(previous["published"]), int(previous["basis"])
    return rule.round(true), true


def _sig(value: float | None, digits: int = 2) -> float | None:
    if value is None or value != value:
        return None
    if value == 0:
        return 0.0
    return float(round(value, digits - 1 - int(math.floor(math.log10(abs(value))))))


def _pounds(value: float | None) -> float | None:
    return None if value is None else float(round(value / 100.0) * 100)


def money_leaves_out(labels: list[str], rule: DisclosureRule) -> str:
    """The plain reason the published money leaves measures out."""
    named = ", ".join(labels[:-1]) + " and " + labels[-1] if len(labels) > 1 else labels[0]
    return (
        f"The money leaves out {named}: fewer than {rule.threshold} events, too few to publish. "
        "It is the account worked out again without it, so no total shown includes it."
    )


def hidden_measures(account: dict[str, Any], rule: DisclosureRule) -> set[str]:
    """The keys of the measures whose events are too few to publish."""
    return {m["key"] for m in publish(account, rule)["measures"] if m.get("hidden")}


def publish(
    account: dict[str, Any],
    rule: DisclosureRule,
    previous: dict[str, Any] | None = None,
    *,
    without: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The controlled copy of ``Account.to_dict()`` (same shape; ``None`` where hidden) with
    ``hidden`` reasons by section and the ``_basis`` of its sticky sizes (never shown).

    ``without`` is the same account computed without the measures hidden here: when given,
    the money is published from it (see the module's docstring)."""
    basis_before = (previous or {}).get("_basis", {})
    out: dict[str, Any] = {k: v for k, v in account.items()}
    hidden: dict[str, str] = {}
    basis: dict[str, dict[str, int | None]] = {}

    n_true = int(account["n_programme"])
    sizes: dict[str, int | None] = {}
    for name in ("n_programme", "n_matched"):
        published, rests_on = sticky_size(int(account[name]), basis_before.get(name), rule)
        sizes[name] = published
        basis[name] = {"published": published, "basis": rests_on}
    other = control_counts([int(account["n_comparison"]), int(account["n_outside_window"])], rule)
    out.update(
        n_programme=sizes["n_programme"],
        n_matched=sizes["n_matched"],
        n_comparison=other[0],
        n_outside_window=other[1],
    )
    if sizes["n_matched"] is None and account.get("comparison_credible"):
        hidden["comparison"] = f"The comparison group has fewer than {rule.threshold} people."
    # Money for the published number of people (see the module's docstring).
    scale = (sizes["n_programme"] or 0) / n_true if n_true else 0.0

    params = account.get("parameters", {})
    quarters = {"before": int(params.get("window_before", 4)), "after": int(params.get("window_after", 4))}
    groups = {
        "programme": (n_true, sizes["n_programme"]),
        "comparison": (int(account["n_matched"]), sizes["n_matched"]),
    }
    measures = []
    for m in account.get("measures", []):
        row = dict(m)
        few = False
        for group, (n_exact, n_shown) in groups.items():
            for when, q in quarters.items():
                key = f"{group}_{when}"
                rate = m.get(key)
                if rate is None:
                    continue
                events = int(round(float(rate) * n_exact * q))
                (controlled,) = control_counts([events], rule)
                if controlled is None or not n_shown:
                    row[key] = None
                    few = few or controlled is None
                else:
                    row[key] = round(controlled / (n_shown * q), 2)
        if few:
            for key in ("effect", "se", "ci_low", "ci_high", "naive_effect"):
                row[key] = None
            row["hidden"] = f"Fewer than {rule.threshold} events in a group or window, too few to publish."
            hidden["money"] = HIDDEN_MONEY
        else:
            for key in ("effect", "se", "ci_low", "ci_high"):
                row[key] = None if m.get(key) is None else round(float(m[key]), 2)
            pa, pb = row.get("programme_after"), row.get("programme_before")
            row["naive_effect"] = None if pa is None or pb is None else round(pa - pb, 2)
        measures.append(row)
    out["measures"] = measures
    out["balance"] = [
        {**b, "smd_before": round(float(b["smd_before"]), 2), "smd_after": round(float(b["smd_after"]), 2)}
        for b in account.get("balance", [])
    ]
    left_out = [m for m in measures if m.get("hidden")]
    kept = {m["key"] for m in measures if not m.get("hidden")}
    usable = (
        without is not None
        and int(without["n_programme"]) == n_true
        and {m["key"] for m in without.get("measures", [])} == kept
    )
    if left_out and usable and scale:
        assert without is not None
        hidden["money"] = money_leaves_out([str(m["label"]) for m in left_out], rule)
        out["money_leaves_out"] = [m["key"] for m in left_out]
        _scale_money(out, without, scale)
    elif "money" in hidden or not scale:
        hidden.setdefault("money", HIDDEN_MONEY)
        _hide_money(out)
    else:
        _scale_money(out, account, scale)
    words = _words(rule)
    out["warnings"] = [words(w) for w in account.get("warnings", [])]
    out["flags"] = [words(f) for f in account.get("flags", [])]
    out["steps"] = [
        {**s, "formula": words(str(s.get("formula", ""))), "source": words(str(s.get("source", "")))}
        for s in out.get("steps", [])
    ]
    out["hidden"] = hidden
    out["_basis"] = basis
    out["controlled"] = True
    return out


def withhold(published: dict[str, Any], reason: str) -> dict[str, Any]:
    """The controlled copy with every size, rate and pound taken out and ``reason`` given
    (the nearby-cohort rule, joinedup.value.nearby). Its sticky basis is kept unchanged."""
    out = dict(published)
    for name in ("n_programme", "n_matched", "n_comparison", "n_outside_window"):
        out[name] = None
    out["measures"] = [
        {
            **m,
            **{
                k: None
                for k in (
                    "programme_before",
                    "programme_after",
                    "comparison_before",
                    "comparison_after",
                    "effect",
                    "se",
                    "ci_low",
                    "ci_high",
                    "naive_effect",
                )
            },
            "hidden": "Withheld: see the reason at the top of the account.",
        }
        for m in published.get("measures", [])
    ]
    out["balance"] = []
    out["warnings"] = []
    _hide_money(out)
    out["steps"] = []
    out.pop("money_leaves_out", None)
    out["hidden"] = {"nearby": reason}
    out["withheld"] = reason
    return out


def _words(rule: DisclosureRule) -> Any:
    def controlled(match: re.Match[str]) -> str:
        (value,) = control_counts([int(match.group(1).replace(",", ""))], rule)
        return f"fewer than {rule.threshold}" if value is None else f"about {value:,}"

    return lambda text: _COUNT_IN_WORDS.sub(controlled, text)


def _hide_money(out: dict[str, Any]) -> None:
    out["steps"] = [
        s
        for s in out.get("steps", [])
        if str(s.get("unit", "")).lower() not in _MONEY_UNITS and s.get("measure_key") == ""
    ]
    out["agency_values"] = []
    out["totals"] = None
    out["matrix"] = []
    out["gain_share"] = []
    out["tornado"] = []
    out["monte_carlo"] = None


def _scale_money(out: dict[str, Any], account: dict[str, Any], scale: float) -> None:
    t = account["totals"]
    costs = float(t["pv_costs"])
    fiscal = float(t["pv_fiscal"]) * scale
    economic = float(t["pv_economic"]) * scale
    social = float(t["pv_social"]) * scale
    benefits = fiscal + economic + social
    out["totals"] = {
        "pv_fiscal": _pounds(fiscal),
        "pv_economic": _pounds(economic),
        "pv_social": _pounds(social),
        "pv_costs": _pounds(costs),
        "npv": _pounds(benefits - costs),
        "fiscal_npv": _pounds(fiscal - costs),
        "fiscal_roi": round(fiscal / costs, 2) if costs else None,
        "public_value_roi": round(benefits / costs, 2) if costs else None,
        # Half years: the exact point at which the cumulative benefit passes the cost would
        # be one more equation in the number of people.
        "payback_years": None if t.get("payback_years") is None else round(float(t["payback_years"]) * 2) / 2,
    }
    out["steps"] = [_scaled_step(s, scale) for s in account.get("steps", [])]
    out["agency_values"] = [
        {**a, "pv_fiscal": _pounds(float(a["pv_fiscal"]) * scale)} for a in account.get("agency_values", [])
    ]
    matrix = []
    for r in account.get("matrix", []):
        saves = float(r["saves"]) * scale
        matrix.append(
            {
                **r,
                "saves": _pounds(saves),
                "cashable": _pounds(float(r["cashable"]) * scale),
                "puts_in": _pounds(float(r["puts_in"])),
                "net": _pounds(saves - float(r["puts_in"])),
            }
        )
    out["matrix"] = matrix
    rows = account.get("gain_share", [])
    net_total = sum(float(g["saves"]) * scale for g in rows) - sum(float(g["contribution"]) for g in rows)
    shares = []
    for g in rows:
        due = float(g["share"]) * net_total
        saves = float(g["saves"]) * scale
        shares.append(
            {
                **g,
                "saves": _pounds(saves),
                "contribution": _pounds(float(g["contribution"])),
                "gain_due": _pounds(due),
                "transfer": _pounds(due - (saves - float(g["contribution"]))),
            }
        )
    out["gain_share"] = shares
    out["tornado"] = [
        {
            **b,
            "npv_low": _sig((float(b["npv_low"]) + costs) * scale - costs),
            "npv_high": _sig((float(b["npv_high"]) + costs) * scale - costs),
        }
        for b in account.get("tornado", [])
    ]
    mc = account.get("monte_carlo")
    if mc:
        out["monte_carlo"] = {
            **mc,
            **{
                k: _sig((float(mc[k]) + costs) * scale - costs) for k in ("npv_low", "npv_median", "npv_high")
            },
            **{
                k: None if mc.get(k) is None else _sig(float(mc[k]) * scale)
                for k in ("roi_low", "roi_median", "roi_high")
            },
            "probability_positive": round(float(mc["probability_positive"]) * 20) / 20,
        }


def _scaled_step(step: dict[str, Any], scale: float) -> dict[str, Any]:
    unit = str(step.get("unit", "")).lower()
    if unit in _MONEY_UNITS:
        return {**step, "value": _pounds(float(step["value"]) * scale)}
    if unit in {"people", "persons"}:
        return {**step, "value": round(float(step["value"]) * scale)}
    if unit.startswith("units a year"):  # the cohort's change: it grows with the people in it
        return {**step, "value": round(float(step["value"]) * scale, 1)}
    return step  # per person, shares, factors and unit costs do not depend on the count
