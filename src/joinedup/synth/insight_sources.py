"""The services of a fictional place whose extracts a synthetic place writes: who runs each,
the need it meets, its cost item, its extract's layout and file format, and how likely a
person (of the public, or of the group with complex needs) is to be known to it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from joinedup.synth.insight_people import Person

__all__ = ["SOURCES", "SourceSpec"]


# Service, partner, need, cost item and how often the general public / the group with
# complex needs are known to it, with mean repeat contacts.
@dataclass(frozen=True)
class SourceSpec:
    name: str
    partner: str
    service: str
    need: str
    cost_item: str
    base_rate: float
    complex_rate: float
    repeat: float
    layout: str
    fmt: str


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("housing_options", "Northbrook Borough Council", "Housing Options",
               "homelessness", "HO3.0", 0.10, 0.80, 0.4, "housing", "csv"),
    SourceSpec("rough_sleeper_outreach", "Northbrook Borough Council", "Rough Sleeper Outreach",
               "homelessness", "HO6.1", 0.01, 0.45, 1.5, "outreach", "xlsx"),
    SourceSpec("emergency_department", "Northbrook and Vale NHS Foundation Trust",
               "Emergency Department", "physical_health", "HE4.0", 0.40, 0.85, 0.8,
               "ed", "csv"),
    SourceSpec("community_mental_health", "Northbrook and Vale NHS Foundation Trust",
               "Community Mental Health Team", "mental_health", "HE16.0", 0.08, 0.55, 1.2,
               "cmht", "xlsx"),
    SourceSpec("work_coach", "Jobcentre Plus Northbrook", "Work Coach Support", "worklessness",
               "E&E1.7", 0.25, 0.60, 0.2, "dwp", "csv"),
    SourceSpec("police_custody", "Northshire Police", "Northbrook Neighbourhood Policing",
               "offending", "CR7.0", 0.06, 0.75, 1.0, "police", "csv"),
    SourceSpec("offender_management", "Northshire Police", "Integrated Offender Management",
               "offending", "CR3.2", 0.01, 0.40, 0.1, "iom", "xlsx"),
    SourceSpec("drug_alcohol_recovery", "Turning Point Northbrook",
               "Drug and Alcohol Recovery Service", "substance_misuse", "HE2.2", 0.03, 0.80,
               0.5, "drugs", "csv"),
    SourceSpec("domestic_abuse_support", "Northbrook Women's Refuge", "Domestic Abuse Support",
               "domestic_abuse", "CR2.0", 0.03, 0.30, 0.3, "refuge", "csv"),
)  # fmt: skip


def _services_for(rng: random.Random, person: Person) -> list[SourceSpec]:
    chosen = []
    for spec in SOURCES:
        rate = spec.complex_rate if person.complex else spec.base_rate
        if spec.name == "domestic_abuse_support" and person.sex == "M":
            rate *= 0.15
        if rng.random() < rate:
            chosen.append(spec)
    if not chosen:
        weights = [s.base_rate for s in SOURCES]
        chosen.append(rng.choices(SOURCES, weights=weights)[0])
    return chosen
