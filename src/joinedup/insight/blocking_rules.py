"""Reading a blocking rule's SQL: the columns it reads of its two records, whether it pairs
the same records with its l and r swapped, and which rules are mirror images of each other.
The incremental path's joins (``incremental_blocking``), the full link's (``place_blocking``)
and the block-size check (``block_limits``) read the model's rules through these."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

__all__ = ["mirrored_rules", "parsed_rule", "rule_columns", "symmetric_rule"]


@functools.lru_cache(maxsize=512)
def parsed_rule(rule: str) -> Any:
    """A blocking rule's SQL parsed by sqlglot (DuckDB's dialect), or None if it cannot be:
    parsed once per process for ``symmetric_rule`` and ``block_limits`` (3 ms a rule, and a
    model has about 30). The tree is shared: callers must not change it."""
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        return sqlglot.parse_one(rule, read="duckdb")
    except ParseError:
        return None


def _swapped(node: Any) -> Any:
    """A node of a parsed rule with its l and r swapped (for ``transform``)."""
    from sqlglot import exp

    if isinstance(node, exp.Column) and node.table in ("l", "r"):
        node = node.copy()
        node.set("table", exp.to_identifier("r" if node.table == "l" else "l"))
    return node


def _terms(expression: Any) -> set[object]:
    """A rule's conjuncts as a set, taking ``a = b`` as ``b = a``."""
    from sqlglot import exp

    parts = expression.flatten() if isinstance(expression, exp.And) else [expression]
    out: set[object] = set()
    for part in parts:
        part = part.unnest()
        if isinstance(part, exp.EQ):
            out.add(frozenset([part.left.sql(), part.right.sql()]))
        else:
            out.add(part.sql())
    return out


@functools.lru_cache(maxsize=512)
def _rule_terms(rule: str) -> tuple[frozenset[object], frozenset[object]] | None:
    """A rule's terms as written and with its l and r swapped (None if it cannot be read),
    worked out once per rule: sqlglot's rewriting costs a few milliseconds a rule."""
    parsed = parsed_rule(rule)
    if parsed is None:
        return None
    return frozenset(_terms(parsed)), frozenset(_terms(parsed.transform(_swapped)))


def rule_columns(rule: str) -> frozenset[str] | None:
    """The columns a blocking rule reads of its two records (None if it cannot be read)."""
    from sqlglot import exp

    parsed = parsed_rule(rule)
    if parsed is None:
        return None
    return frozenset(c.name for c in parsed.find_all(exp.Column) if c.table in ("l", "r"))


def symmetric_rule(rule: str) -> bool:
    """Whether a blocking rule pairs the same records when its l and r swap: a conjunction of
    terms that is the same set of terms after the swap, taking ``a = b`` as ``b = a``.
    Anything else (``l.forename = r.surname``, or SQL this cannot read) counts as asymmetric,
    which only costs a second join."""
    terms = _rule_terms(rule)
    return terms is not None and terms[0] == terms[1]


def mirrored_rules(rules: Sequence[str]) -> dict[int, int]:
    """For each asymmetric rule whose mirror image (its l and r swapped, as the same set of
    terms) is a later rule, the index of that rule: ``l.forename = r.surname`` and
    ``l.surname = r.forename`` pair the same two records, one in each order, so one join
    finds the candidates of both. Each rule is in at most one such pair."""
    terms = [_rule_terms(r) for r in rules]
    out: dict[int, int] = {}
    taken: set[int] = set()
    for i, mine in enumerate(terms):
        if mine is None or i in taken or mine[0] == mine[1]:
            continue
        for j in range(i + 1, len(rules)):
            theirs = terms[j]
            if j not in taken and theirs is not None and theirs[0] == mine[1]:
                out[i] = j
                taken |= {i, j}
                break
    return out
