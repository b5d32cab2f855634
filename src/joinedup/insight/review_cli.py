"""`joinedup review list|check|show|decide|estimate|band`: clerical review from the command line, beside
the web's review queue. The queue is the web's, in the web's order; `show` is person-level
and, like the web's pair page, refuses to go on unless the view is written to the audit log.
A mistake (a bad decision word, an unknown pair, a pair whose records have since gone)
prints one line and changes nothing."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from joinedup.clikit import UserError, console

review_app = typer.Typer(
    help="The review queue: pairs the model is unsure of, and analysts' decisions on them.",
    no_args_is_help=True,
)

PlaceOpt = Annotated[str, typer.Option("--place", help="The place's slug")]
PairArg = Annotated[str, typer.Argument(help="The pair as `review list` shows it (left~right)")]

# The words a decision takes on the command line, as insight.review keeps them.
WORDS = "same, different or unsure"


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")


def _percent(value: float | None, interval: tuple[float, float] | None, n: int, of: str) -> str:
    if value is None or interval is None:
        return f"not yet: no checked pair {of}"
    pairs = "pair" if n == 1 else "pairs"
    return (f"{100 * value:.0f}% (95% interval {100 * interval[0]:.0f}% to {100 * interval[1]:.0f}%), "
            f"from {n} checked {pairs} {of}")  # fmt: skip


@review_app.command("list")
def list_queue(
    place: PlaceOpt,
    limit: Annotated[int, typer.Option(help="Show at most this many pairs")] = 100,
) -> None:
    """The pairs waiting for review, those a decision would change most first."""
    from joinedup.insight import review
    from joinedup.insight.cli import _store

    with _store(place) as con:
        threshold = review.current_threshold(con)
        items = review.queue(con, threshold, limit=limit)
        low, high = review.band(con)
    if not items:
        console.print("No pairs are waiting for review.")
        return
    # One pair a block, not a table: the pair's key is long and must stay whole to be
    # copied into `review show` and `review decide`.
    effects = {"join": "a “same person” decision would join two persons",
               "split": "a “different people” decision would split a person",
               "cut": "a “different people” decision would split a person at its weakest links"}  # fmt: skip
    console.print(f"{len(items)} pairs scored between {100 * low:.0f}% and {100 * high:.0f}%, "
                  f"those a decision would change most first:")  # fmt: skip
    for n, item in enumerate(items, 1):
        moved = f" ({item.records_moved} records would move)" if item.records_moved else ""
        decided = "marked not sure" if item.decision else "not yet decided"
        console.print(f"{n}. {item.pair_key}", markup=False, soft_wrap=True)
        console.print(f"   match probability {100 * item.match_probability:.1f}%; "
                      f"{effects[item.effect]}{moved}; {decided}", markup=False)  # fmt: skip


@review_app.command("show")
def show(place: PlaceOpt, pair: PairArg) -> None:
    """The pair's two records side by side with the model's evidence (person-level; audited)."""
    from joinedup.config import get_settings
    from joinedup.insight import review
    from joinedup.insight.cli import _audit, _store
    from joinedup.insight.context import place_context
    from joinedup.insight.pipeline import work_dir
    from joinedup.insight.review_evidence import pair_evidence, side_by_side

    try:
        left, right = review.parse_pair(pair)
    except review.ReviewError as exc:
        raise UserError(str(exc)) from exc
    with _store(place) as con:
        try:
            review.held(con, left, right)
            fields = side_by_side(con, left, right)
            _audit(place_context(place), "insight.view.review_pair", {"pair": f"{left}~{right}"},
                   required=True, subject=f"pair:{left}~{right}")  # fmt: skip
            evidence = pair_evidence(con, left, right, work_dir=work_dir(get_settings(), place))
        except review.ReviewError as exc:
            raise UserError(str(exc)) from exc
    records = Table(title="The two records")
    records.add_column("", no_wrap=True)
    records.add_column("left record")
    records.add_column("right record")
    for label, value_l, value_r in fields:
        records.add_row(label, value_l, value_r)
    console.print(records)
    # The values compared are in the table above; here each comparison's level and weight.
    waterfall = Table(title="The model's evidence")
    waterfall.add_column("comparison", no_wrap=True)
    waterfall.add_column("how alike")
    waterfall.add_column("match weight", justify="right", no_wrap=True)
    waterfall.add_row("Before comparing (prior)", "", f"{evidence.prior_weight:+.2f}")
    for row in evidence.rows:
        waterfall.add_row(row.comparison, row.level, f"{row.weight:+.2f}")
    waterfall.add_row("Match weight in all", "", f"{evidence.match_weight:+.2f}")
    console.print(waterfall)
    console.print(f"Match probability {100 * evidence.match_probability:.1f}%. Decide with: "
                  f"joinedup review decide --place {place} {left}~{right} same|different|unsure",
                  markup=False, soft_wrap=True)  # fmt: skip


@review_app.command("decide")
def decide(
    place: PlaceOpt,
    pair: PairArg,
    decision: Annotated[str, typer.Argument(help="same, different or unsure")],
) -> None:
    """Decide a pair: the same person, different people, or not sure. The next link honours it."""
    from joinedup.insight import review
    from joinedup.insight.cli import _audit, _store
    from joinedup.insight.context import place_context

    if decision not in review.DECISIONS:
        raise UserError(f"{decision!r} is not a decision: give {WORDS}; nothing was saved")
    try:
        left, right = review.parse_pair(pair)
    except review.ReviewError as exc:
        raise UserError(str(exc)) from exc
    with _store(place) as con:
        try:
            review.held(con, left, right)
            if not review.scored(con, left, right):
                raise review.ReviewError(
                    f"{left}~{right} is not a pair the model scored; take pairs from "
                    "`joinedup review list`. Nothing was saved"
                )
            review.decide(con, left, right, decision, decided_by="command line")
        except review.ReviewError as exc:
            raise UserError(str(exc)) from exc
    _audit(place_context(place), "insight.review.decide", {"pair": f"{left}~{right}", "decision": decision},
           required=False, subject=f"pair:{left}~{right}")  # fmt: skip
    console.print(f"{review.DECISIONS[decision]}: {left}~{right}. The next link honours it.")


@review_app.command("check")
def check(place: PlaceOpt) -> None:
    """Draw the next pair of the check sample: a pair of the band chosen at random, to decide
    with `review show` and `review decide`. Only these pairs estimate precision and recall."""
    from joinedup.insight import review_check
    from joinedup.insight.cli import _store

    with _store(place) as con:
        try:
            pair = review_check.draw(con)
        except review_check.NothingToDraw as exc:
            raise UserError(str(exc)) from exc
    if pair is None:
        console.print("Every pair in the band has been drawn for the check sample.")
        return
    console.print("Drawn at random from the band for the check sample:")
    console.print(f"  {pair[0]}~{pair[1]}", soft_wrap=True)


@review_app.command("estimate")
def estimate(place: PlaceOpt) -> None:
    """Precision and recall of the threshold within the band, from the check sample."""
    from joinedup.insight import review, review_check
    from joinedup.insight.cli import _store

    with _store(place) as con:
        threshold = review.current_threshold(con)
        found = review_check.estimate(con, threshold)
        low, high = review.band(con)
    plural = "" if found.reviewed == 1 else "s"
    console.print(f"{found.reviewed} pair{plural} of the check sample decided in the band "
                  f"{100 * low:.0f}% to {100 * high:.0f}% (threshold {100 * threshold:.0f}%)")  # fmt: skip
    precision = _percent(found.precision, found.precision_interval, found.precision_n, "the model joins")
    recall = _percent(found.recall, found.recall_interval, found.recall_n, "judged the same person")
    console.print(f"Precision in the band: {precision}", soft_wrap=True)
    console.print(f"Recall in the band: {recall}", soft_wrap=True)
    if found.not_counted:
        plural = "" if found.not_counted == 1 else "s"
        console.print(f"Not counted: {found.not_counted} decision{plural} on pairs taken from the "
                      "queue, which offers first the pairs most likely to change persons and so would "
                      "tilt the estimate. Draw pairs at random with `review check`.")  # fmt: skip


Probability = Annotated[
    float | None, typer.Option(min=0.0, max=1.0, help="A match probability, 0 to 1 (0.5 is even odds)")
]


@review_app.command("band")
def band(place: PlaceOpt, low: Probability = None, high: Probability = None) -> None:
    """Show the review band, or set it: pairs the model scores between --low and --high go
    to the review queue and the check sample (default 0.5 to 0.95). Either may be given
    alone; the other stays as it is."""
    from joinedup.insight import review, review_check
    from joinedup.insight.cli import _store

    with _store(place) as con:
        old = review.band(con)
        if low is None and high is None:
            console.print(f"Review band: {_share(old[0])} to {_share(old[1])} match probability.")
            return
        new = (old[0] if low is None else low, old[1] if high is None else high)
        try:
            set_aside = review_check.change_band(con, *new)
        except review.ReviewError as exc:
            raise UserError(
                f"The band {_share(new[0])} to {_share(new[1])} is not a band: the low end must be "
                "below the high end (it was left as it was)"
            ) from exc
    console.print(f"Review band: {_share(new[0])} to {_share(new[1])} match probability (was "
                  f"{_share(old[0])} to {_share(old[1])}).")  # fmt: skip
    if set_aside:
        plural = "draw" if set_aside == 1 else "draws"
        console.print(f"The band reaches further than before, so the check sample starts again: "
                      f"{set_aside} earlier {plural} set aside. Decisions are kept and count again when "
                      "a draw reaches their pair.")  # fmt: skip


def _share(value: float) -> str:
    """A probability as a percentage, with as many places as it needs (95%, 99.9%)."""
    return f"{100 * value:.4g}%"
