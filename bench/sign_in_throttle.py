"""Benchmark: how many password guesses the sign-in throttle lets through.

    .venv/bin/python bench/sign_in_throttle.py [--hours 24]

Simulates a guesser who retries the moment each wait is over, using the real policy
(joinedup.places.throttle.Policy with the default settings), for one address guessing one
account and for one address guessing many accounts (the address count). Prints the tries in
the first hour and over the whole run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from joinedup.config import Settings  # noqa: E402
from joinedup.places.throttle import Policy  # noqa: E402


def guesses(policy: Policy, free: int, hours: int) -> tuple[int, int]:
    """(tries in the first hour, tries in `hours`) for a guesser who never waits longer than
    it must: after each failure it tries again as soon as the wait for the failures then in
    the window is over (the window forgets old failures, so the wait can shrink)."""
    failures: list[float] = []
    t, end = 0.0, hours * 3600.0
    while t < end:
        failures.append(t)
        nxt = t + 0.001
        while True:
            recent = [f for f in failures if f > nxt - policy.window]
            wait = policy.delay(len(recent), free)
            if not recent or nxt >= recent[-1] + wait:
                break
            nxt = min(recent[-1] + wait, recent[0] + policy.window + 0.001)
        t = nxt
    first_hour = sum(1 for f in failures if f < 3600)
    return first_hour, len(failures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    policy = Policy.from_settings(Settings())
    print(f"policy: {policy}")
    for label, free in (("one address, one account", policy.account_free),
                        ("one address, many accounts", policy.address_free)):
        hour, total = guesses(policy, free, args.hours)
        print(f"{label}: {hour} tries in the first hour, {total} in {args.hours} hours")


if __name__ == "__main__":
    main()
