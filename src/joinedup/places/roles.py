"""Roles in a place and what each may do.

Routes ask for a capability, never a role, so that who-may-do-what lives here alone.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    LEAD = "lead"
    ANALYST = "analyst"
    PARTNER = "partner"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Administrator",
    Role.LEAD: "Partnership lead",
    Role.ANALYST: "Insight analyst",
    Role.PARTNER: "Partner organisation user",
    Role.VIEWER: "Viewer",
}

ROLE_HINTS: dict[Role, str] = {
    Role.ADMIN: "Manages users and settings for the place",
    Role.LEAD: "Writes charters, runs surveys and keeps the list of partners and services",
    Role.ANALYST: "Works with person-level insight data",
    Role.PARTNER: "Sees the partnership's aggregates and charters",
    Role.VIEWER: "Reads the place, its charters and published results",
}


class Capability(StrEnum):
    VIEW_PLACE = "view_place"
    MANAGE_USERS = "manage_users"
    EDIT_PLACE = "edit_place"
    EDIT_CHARTER = "edit_charter"
    VIEW_AUDIT = "view_audit"
    VIEW_PERSON_LEVEL = "view_person_level"
    RUN_INSIGHT = "run_insight"
    DEFINE_COHORT = "define_cohort"
    EDIT_UNIT_COSTS = "edit_unit_costs"
    MANAGE_ROUNDS = "manage_rounds"
    VIEW_RESULTS = "view_results"
    REVIEW_FREE_TEXT = "review_free_text"
    # Add, change, retire, import and export the place's partners and services.
    MANAGE_PARTNERS = "manage_partners"
    EDIT_VALUE_ACCOUNT = "edit_value_account"


_ALL = frozenset(Capability)

GRANTS: dict[Role, frozenset[Capability]] = {
    # Person-level data is for analysts only: not even an administrator sees it by default.
    Role.ADMIN: _ALL - {Capability.VIEW_PERSON_LEVEL, Capability.RUN_INSIGHT,
                        Capability.REVIEW_FREE_TEXT},
    Role.LEAD: frozenset({
        Capability.VIEW_PLACE, Capability.EDIT_CHARTER, Capability.DEFINE_COHORT,
        Capability.EDIT_UNIT_COSTS, Capability.MANAGE_ROUNDS, Capability.VIEW_RESULTS,
        Capability.VIEW_AUDIT, Capability.MANAGE_PARTNERS, Capability.EDIT_VALUE_ACCOUNT,
    }),
    Role.ANALYST: frozenset({
        Capability.VIEW_PLACE, Capability.VIEW_PERSON_LEVEL, Capability.RUN_INSIGHT,
        Capability.DEFINE_COHORT, Capability.EDIT_UNIT_COSTS, Capability.VIEW_RESULTS,
        Capability.REVIEW_FREE_TEXT, Capability.EDIT_VALUE_ACCOUNT,
    }),
    Role.PARTNER: frozenset({Capability.VIEW_PLACE, Capability.VIEW_RESULTS}),
    Role.VIEWER: frozenset({Capability.VIEW_PLACE}),
}


def can(role: Role | str, capability: Capability) -> bool:
    return capability in GRANTS[Role(role)]
