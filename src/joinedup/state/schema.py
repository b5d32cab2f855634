"""The contract of a place's state-of-collaboration package: its tables and their fields.

A package is a Frictionless Data Package (https://specs.frictionlessdata.io/data-package/):
``datapackage.json`` names each CSV and gives its Table Schema. The schemas here are the
contract, for the publisher and the reader alike: a reader checks a package against these,
not against whatever schema the package carries, so that a package cannot loosen its own
rules. Bump :data:`METHOD` whenever a table, a field or the meaning of a figure changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ADDED_IN", "METHOD", "MISSING", "READS", "SUPPRESSED", "TABLES", "Field", "Table",
           "table_schema"]

#: The method version every package states. /2 added the ``value_accounts`` table.
METHOD = "joinedup-state/2"
#: Every method version a reader accepts. A /1 package is still read: its other tables are
#: unchanged, and it simply has no value accounts (the comparison says so).
READS = ("joinedup-state/1", METHOD)
#: Tables a package of an older method version does not have.
ADDED_IN = {"value_accounts": METHOD}
#: A figure the disclosure rule hides is written as this, never as a number.
SUPPRESSED = "*"
#: Missing values of every table: hidden by the rule (*) or not applicable (empty).
MISSING = ("", SUPPRESSED)


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # Table Schema type: string, integer, number, date, boolean
    description: str
    unit: str = ""
    required: bool = False
    #: How the disclosure rule treats the figure: "count" (hidden below the threshold,
    #: rounded otherwise), "money" (rounded to £100), "survey_n" (at least the minimum
    #: group size), "interval" (a bound of a 95% interval), "net_money" (rounded to £100,
    #: and may be negative) or "" (not a disclosure figure).
    control: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"{self.name}.csv"


_PERIOD = Field("period", "string", "The period the figure covers: financial years "
                "(April to March) from the first to the last with records", required=True)
_PERSONS = Field("persons", "integer", "Persons, under the place's disclosure rule "
                 "(* when hidden)", "persons", control="count")
_RATE = Field("per_1000_adults", "number", "Persons per 1,000 adults of the place (ONS "
              "mid-year estimate), from the controlled count", "persons per 1,000 adults")
_ROUND = (
    Field("round", "string", "The survey round's identifier within the place", required=True),
    Field("round_title", "string", "The round's title", required=True),
    Field("opens_on", "date", "The day the round opened", required=True),
    Field("closes_on", "date", "The day the round closed (or closes)", required=True),
)

TABLES: tuple[Table, ...] = (
    Table("prevalence", "Prevalence of multiple disadvantage",
          "Persons in each cohort of the place and per 1,000 adults, beside England's figure "
          "from Hard Edges (2015) where there is one.",
          (Field("cohort", "string", "The cohort's short name", required=True),
           Field("label", "string", "What the cohort holds", required=True),
           _PERIOD, _PERSONS, _RATE,
           Field("national_per_1000", "number", "England per 1,000 working-age adults "
                 "(Hard Edges, 2010/11), where the cohort matches one of its measures",
                 "persons per 1,000 adults"),
           Field("national_source", "string", "Where the national figure comes from")),
          ("cohort",)),
    Table("services_known", "Persons known to one, two, three or more services",
          "Linked persons known to at least the given number of the partners' services.",
          (Field("min_services", "integer", "Known to at least this many services",
                 "services", required=True),
           _PERIOD, _PERSONS, _RATE),
          ("min_services",)),
    Table("demand", "Demand and cost by service per financial year",
          "Persons, events and their cost on each service in each whole financial year.",
          (Field("financial_year", "string", "The financial year, April to March (2024-25)",
                 required=True),
           Field("service", "string", "The service", required=True),
           Field("partner", "string", "The partner that runs it", required=True),
           _PERSONS,
           Field("events", "integer", "Events (contacts, episodes, attendances)", "events",
                 control="count"),
           Field("events_per_person", "number", "Events per person, from the controlled "
                 "counts", "events per person"),
           Field("cost", "number", "Cost of the events at unit costs, rounded", "GBP",
                 control="money"),
           Field("price_year", "string", "The prices the cost is in", required=True)),
          ("financial_year", "service")),
    Table("readiness", "Readiness by component per survey round",
          "Staff's mean practice and ambition scores (0 to 100) on each component, strand and "
          "overall, with 95% intervals, and the gap between them.",
          (*_ROUND,
           Field("line", "string", "The component, strand or overall key", required=True),
           Field("name", "string", "Its name", required=True),
           Field("kind", "string", "component, strand or overall", required=True),
           Field("n", "integer", "Staff whose answers make the practice score", "respondents",
                 control="survey_n"),
           Field("practice", "number", "Mean practice score", "score 0-100"),
           Field("practice_lci", "number", "Lower bound of its 95% interval", "score 0-100",
                 control="interval"),
           Field("practice_uci", "number", "Upper bound of its 95% interval", "score 0-100",
                 control="interval"),
           Field("ambition", "number", "Mean ambition score", "score 0-100"),
           Field("ambition_lci", "number", "Lower bound of its 95% interval", "score 0-100",
                 control="interval"),
           Field("ambition_uci", "number", "Upper bound of its 95% interval", "score 0-100",
                 control="interval"),
           Field("gap", "number", "Mean gap, ambition less practice", "points"),
           Field("gap_lci", "number", "Lower bound of its 95% interval", "points",
                 control="interval"),
           Field("gap_uci", "number", "Upper bound of its 95% interval", "points",
                 control="interval")),
          ("round", "line")),
    Table("citizen", "Citizen measures per survey round",
          "Weighted share of residents giving each answer, with its 95% interval (logit), "
          "beside the national figure where there is one.",
          (*_ROUND,
           Field("measure", "string", "The measure's key", required=True),
           Field("label", "string", "What the share counts", required=True),
           Field("n", "integer", "Residents behind the weighted share", "respondents",
                 control="survey_n"),
           Field("estimate", "number", "Weighted share", "proportion 0-1"),
           Field("lci", "number", "Lower bound of its 95% interval", "proportion 0-1",
                 control="interval"),
           Field("uci", "number", "Upper bound of its 95% interval", "proportion 0-1",
                 control="interval"),
           Field("national", "number", "The national figure for UK adults", "proportion 0-1"),
           Field("higher_is_worse", "boolean", "Whether a higher share is worse for residents",
                 required=True)),
          ("round", "measure")),
    Table("collaborations", "Collaborations and their status",
          "Each collaboration the place's partners have chartered.",
          (Field("collaboration", "string", "The collaboration's short name", required=True),
           Field("name", "string", "Its name", required=True),
           Field("status", "string", "forming, active, paused or closed", required=True),
           Field("partners", "integer", "Partners in its charter", "partners", required=True),
           Field("updated_on", "date", "When its charter last changed", required=True)),
          ("collaboration",)),
    Table("measures", "Collaborations' outcome measures",
          "What each collaboration measures itself by, with its baseline and target.",
          (Field("collaboration", "string", "The collaboration's short name", required=True),
           Field("measure", "string", "The outcome measure", required=True),
           Field("unit", "string", "Its unit"),
           Field("baseline", "string", "The baseline, as the charter states it"),
           Field("target", "string", "The target, as the charter states it"),
           Field("check_on", "date", "When progress is checked")),
          ("collaboration", "measure")),
)

_VALUE_STATES = ("published", "withheld")

VALUE_ACCOUNTS = Table(
    "value_accounts", "Collaborations' public value accounts",
    "Each collaboration's public value account exactly as a viewer of the place reads it on the "
    "account page (never the analyst's exact account): the size of the programme under the "
    "disclosure rule, the headline change with its 95% interval, and the money, computed for "
    "the published number of people and rounded to £100. Money is * when a measure rests on "
    "too few events to publish and no account without it could be made. An account withheld "
    "under the nearby-cohort rule is listed as withheld with no figures at all. Measures too "
    "few events to publish are never named here.",
    (Field("collaboration", "string", "The collaboration's short name", required=True),
     Field("name", "string", "Its name", required=True),
     Field("state", "string", "published, or withheld (no figures: its cohort is a few people "
           "from another published account's)", required=True),
     Field("period", "string", "The data the account rests on, first to last day"),
     Field("programme_persons", "integer", "People the programme follows, under the place's "
           "disclosure rule (rounded, and sticky between recomputations; * when hidden)",
           "persons", control="count"),
     Field("headline_measure", "string", "The measure the account's headline sentence leads "
           "with (the analyst's choice if it can be shown)"),
     Field("effect", "number", "Its change per person per quarter, programme against matched "
           "comparison (or before against after, see method)", "events per person per quarter"),
     Field("effect_lci", "number", "Lower bound of its 95% interval",
           "events per person per quarter", control="interval"),
     Field("effect_uci", "number", "Upper bound of its 95% interval",
           "events per person per quarter", control="interval"),
     Field("method", "string", "did (difference in differences against a matched comparison "
           "group) or before_after (no credible comparison group; overstates the effect)"),
     Field("npv", "number", "Net present value: all benefits less costs, rounded", "GBP",
           control="net_money"),
     Field("fiscal_return", "number", "Fiscal return: public bodies' savings per £1 spent",
           "GBP per GBP"),
     Field("public_value_return", "number", "Public value return: fiscal, economic and social "
           "benefits per £1 spent", "GBP per GBP"),
     Field("public_value_return_lci", "number", "Lower bound of the public value return's 95% "
           "interval from the account's Monte Carlo simulation (two significant figures)",
           "GBP per GBP", control="interval"),
     Field("public_value_return_uci", "number", "Upper bound of that interval", "GBP per GBP",
           control="interval"),
     Field("payback_years", "number", "Years until the benefits pass the costs, to the half "
           "year", "years"),
     Field("discount_rate", "number", "The discount rate a year", "proportion 0-1"),
     Field("settings_version", "integer", "The version of the account's settings it was "
           "computed from", required=True),
     Field("note", "string", "Why a figure is missing, in the account page's words")),
    ("collaboration",))

TABLES = (*TABLES, VALUE_ACCOUNTS)

STATUSES = ("forming", "active", "paused", "closed")


def table(name: str) -> Table:
    return next(t for t in TABLES if t.name == name)


def table_schema(t: Table) -> dict[str, Any]:
    """The Table Schema of a table, as it goes into ``datapackage.json``."""
    fields: list[dict[str, Any]] = []
    for f in t.fields:
        spec: dict[str, Any] = {"name": f.name, "type": f.type, "description": f.description}
        if f.unit:
            spec["unit"] = f.unit  # a custom property: Table Schema allows them
        if f.required:
            spec["constraints"] = {"required": True}
        elif f.type in {"integer", "number"} and f.control in {"count", "money", "survey_n"}:
            spec["constraints"] = {"minimum": 0}
        if f.name == "status":
            spec["constraints"] = {"required": True, "enum": list(STATUSES)}
        if t.name == "value_accounts" and f.name == "state":
            spec["constraints"] = {"required": True, "enum": list(_VALUE_STATES)}
        if f.type == "boolean":
            spec["trueValues"], spec["falseValues"] = ["true"], ["false"]
        fields.append(spec)
    return {"fields": fields, "missingValues": list(MISSING), "primaryKey": list(t.key)}
