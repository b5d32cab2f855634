"""Computing an account and keeping the result, so that pages are served without recomputing.

A result is stored with the hash of the settings it was computed from and the insight
store's data version, so a page can say when it is out of date (the settings or the data
changed since) and offer to recompute. The published (controlled) copy is made at the same
time, from the previous publication's sticky sizes (see :mod:`joinedup.value.published`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy.orm import Session

from joinedup.db.base import utcnow
from joinedup.insight.disclosure import DisclosureRule
from joinedup.insight.store import one
from joinedup.value.account import Account, compute_account
from joinedup.value.compute import followed_persons
from joinedup.value.models import ValueAccount, ValueResult
from joinedup.value.nearby import nearby_reason, record_cohort
from joinedup.value.published import hidden_measures, publish, withhold
from joinedup.value.settings import build_inputs, inputs_hash

__all__ = [
    "Freshness",
    "compute",
    "compute_for_publication",
    "current_data_version",
    "data_version",
    "freshness",
    "store_result",
    "without_hidden",
]

# The data version of each store file, with the file's state (its and its write-ahead log's
# size and modification time) when it was read. Opening a place's DuckDB store costs a few
# hundred milliseconds, so a page asks the file system first and opens the store only when
# the file has changed since (issue 10: the account page is served in under 300 ms).
_VERSIONS: dict[str, tuple[tuple[object, ...], str]] = {}


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """The store's state as far as an account can see it: records, links, the latest linkage
    run, each source's ingest time, the unit costs and the cohorts."""
    row = one(
        con.execute(
            """
        SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM person_links),
               (SELECT coalesce(max(run_id), 0) FROM link_runs WHERE status = 'done'),
               (SELECT md5(coalesce(string_agg(name || '@' || coalesce(CAST(ingested_at AS VARCHAR), ''),
                                               ',' ORDER BY name), '')) FROM sources),
               (SELECT md5(coalesce(string_agg(code || '=' || CAST(cost_gbp AS VARCHAR) || price_year,
                                               ',' ORDER BY code), '')) FROM unit_costs),
               (SELECT md5(coalesce(string_agg(name || ':' || needs || ':' || min_needs, ',' ORDER BY name),
                                    '')) FROM cohort_definitions)
        """
        )
    )
    records, links, run, sources, costs, cohorts = row
    return (
        f"records={records};links={links};run={run};"
        f"sources={sources[:12]};costs={costs[:12]};cohorts={cohorts[:12]}"
    )


def _file_state(path: Path) -> tuple[object, ...]:
    state: list[object] = []
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            info = candidate.stat()
        except FileNotFoundError:
            state.append(None)
        else:
            state.append((info.st_mtime_ns, info.st_size))
    return tuple(state)


def current_data_version(
    path: Path, open_store: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
) -> str:
    """The store's data version, read again only when its file has changed."""
    key = str(path)
    cached = _VERSIONS.get(key)
    if cached is not None and cached[0] == _file_state(path):
        return cached[1]
    with open_store() as con:
        version = data_version(con)
    _VERSIONS[key] = (_file_state(path), version)  # as the file is after our own open and close
    return version


def compute(con: duckdb.DuckDBPyConnection, account: ValueAccount, rule: DisclosureRule) -> Account:
    """Run the engine on the place's store. Raises ValueInputError for input it cannot use."""
    programme, measures, params = build_inputs(con, account, min_persons=rule.threshold)
    return compute_account(con, programme, measures, params)


def without_hidden(
    con: duckdb.DuckDBPyConnection, account: ValueAccount, result: Account, rule: DisclosureRule
) -> Account | None:
    """The account again without the measures too few events to publish (None when none is
    hidden, or when every measure is): its money is what everyone but analysts reads, so a
    measure's money is never published as part of a total it could be subtracted from."""
    hidden = hidden_measures(result.to_dict(), rule)
    if not hidden:
        return None
    programme, measures, params = build_inputs(con, account, min_persons=rule.threshold)
    kept = [m for m in measures if m.key not in hidden]
    if not kept:
        return None
    params = replace(
        params, extra_values=tuple(e for e in params.extra_values if e.measure_key not in hidden)
    )
    return compute_account(con, programme, kept, params)


def compute_for_publication(
    con: duckdb.DuckDBPyConnection, account: ValueAccount, rule: DisclosureRule
) -> tuple[Account, Account | None, str | None]:
    """The exact account; when a measure must be hidden, the account without it; and, when
    its cohort is a few people from another published account's, why its controlled copy is
    withheld (see joinedup.value.nearby). The analysed cohort is kept in the store."""
    result = compute(con, account, rule)
    programme, _, params = build_inputs(con, account, min_persons=rule.threshold)
    persons = followed_persons(con, programme, params)
    key = f"account:{account.id}"
    withheld = nearby_reason(con, key, persons, rule)
    record_cohort(con, key, persons, withheld=withheld is not None)
    return result, without_hidden(con, account, result, rule), withheld


def store_result(
    session: Session,
    account: ValueAccount,
    result: Account,
    *,
    rule: DisclosureRule,
    version: str,
    by: str,
    without: Account | None = None,
    withheld: str | None = None,
) -> ValueResult:
    exact = result.to_dict()
    previous = account.result
    published = publish(
        exact,
        rule,
        previous.published if previous is not None else None,
        without=None if without is None else without.to_dict(),
    )
    if withheld:
        published = withhold(published, withheld)
    row = previous or ValueResult(account_id=account.id)
    row.computed_at = utcnow()
    row.computed_by = by
    row.settings_version = account.version
    row.inputs_hash = inputs_hash(account, rule)
    row.data_version = version
    row.account = exact
    row.published = published
    if previous is None:
        account.result = row
    session.flush()
    return row


@dataclass(frozen=True)
class Freshness:
    computed: bool
    settings_changed: bool = False
    data_changed: bool = False

    @property
    def stale(self) -> bool:
        return self.settings_changed or self.data_changed

    def reasons(self) -> list[str]:
        out = []
        if self.settings_changed:
            out.append("the settings have changed since it was computed")
        if self.data_changed:
            out.append("the place's linked data has changed since it was computed")
        return out


def freshness(account: ValueAccount | None, rule: DisclosureRule, version: str | None) -> Freshness:
    if account is None or account.result is None:
        return Freshness(computed=False)
    stored = account.result
    return Freshness(
        computed=True,
        settings_changed=stored.inputs_hash != inputs_hash(account, rule),
        data_changed=version is not None and stored.data_version != version,
    )


def as_dict(result: ValueResult, *, exact: bool) -> dict[str, Any]:
    return result.account if exact else result.published
