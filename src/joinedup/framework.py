"""The 12-component framework of collaborative capacity.

The single source of truth for the names, strands and order of the components (Kippin,
*Collaborative Capacity in Public Service Delivery*, UNDP Global Centre for Public Service
Excellence, 2015). The names are the framework's; the one-line meanings are ours. Every
screen, score and report is built from this module, so a change here changes them all.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = (
    "Kippin, H. (2015) Collaborative Capacity in Public Service Delivery: Towards a "
    "Framework for Practice. UNDP Global Centre for Public Service Excellence."
)


@dataclass(frozen=True)
class Strand:
    key: str
    name: str
    summary: str


@dataclass(frozen=True)
class Component:
    key: str
    name: str
    strand: Strand
    summary: str


OUTCOMES = Strand("outcomes", "Outcomes", "what the partnership achieves for people")
ALIGNMENT = Strand("alignment", "Alignment", "whether goals, risk and resources line up")
DELIVERY = Strand("delivery", "Delivery", "how the partnership leads, learns and adapts")
ACCOUNTABILITY = Strand(
    "accountability", "Accountability", "how the partnership answers to citizens and evidence"
)

STRANDS: tuple[Strand, ...] = (OUTCOMES, ALIGNMENT, DELIVERY, ACCOUNTABILITY)

COMPONENTS: tuple[Component, ...] = (
    Component("insight", "Insight", OUTCOMES,
              "a shared, evidence-based understanding of need and demand"),
    Component("brokerage", "Brokerage", OUTCOMES,
              "connecting the people, organisations and resources that can act together"),
    Component("design", "Design", OUTCOMES,
              "designing services with the people who use them"),
    Component("incentives", "Incentives and shared goals", ALIGNMENT,
              "one goal, and incentives that reward contributing to it"),
    Component("risk", "Risk", ALIGNMENT,
              "risk held together rather than passed along"),
    Component("resources", "Resources", ALIGNMENT,
              "budgets, staff, data and buildings pooled where that serves the goal"),
    Component("leadership", "Leadership", DELIVERY,
              "leaders who lead across, not only within, their organisation"),
    Component("innovation", "Innovation", DELIVERY,
              "room to try new approaches and learn from them"),
    Component("agility", "Agility", DELIVERY,
              "the ability to change course as demand and context change"),
    Component("transparency", "Transparency", ACCOUNTABILITY,
              "open about aims, money and results"),
    Component("engagement", "Engagement and democracy", ACCOUNTABILITY,
              "citizens and elected members share in decisions"),
    Component("evidence", "Evidence", ACCOUNTABILITY,
              "outcomes and public value measured, and acted on"),
)

_BY_KEY = {c.key: c for c in COMPONENTS}
_STRAND_BY_KEY = {s.key: s for s in STRANDS}


def component(key: str) -> Component:
    """The component with this key; KeyError names the unknown key."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown framework component {key!r}") from None


def strand(key: str) -> Strand:
    try:
        return _STRAND_BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown framework strand {key!r}") from None


def components_in(strand_: Strand) -> tuple[Component, ...]:
    """The three components of a strand, in framework order."""
    return tuple(c for c in COMPONENTS if c.strand == strand_)
