"""Northbrook: the fictional borough of the demo. Its partners, services, people and charters.

Other areas' generators (insight extracts, survey rounds) use these names, so that the demo
tells one story.
"""

from __future__ import annotations

from datetime import date

from joinedup.places.models import Sector
from joinedup.places.roles import Role

PLACE_SLUG = "northbrook"
PLACE_NAME = "Northbrook"
PLACE_DESCRIPTION = (
    "A fictional borough of about 160,000 people, made up for the joinedup demo. Its council, "
    "NHS, Jobcentre, police, housing association and voluntary groups are working to serve "
    "people with multiple needs better together."
)
ADULT_POPULATION = 131_400

# (partner, sector, [(service, description)])
PARTNERS: tuple[tuple[str, Sector, tuple[tuple[str, str], ...]], ...] = (
    ("Northbrook Borough Council", Sector.LOCAL_GOVERNMENT, (
        ("Housing Options", "Advice and statutory help for people who are homeless or at risk"),
        ("Adult Social Care", "Assessments and support for adults with care needs"),
        ("Rough Sleeper Outreach", "Street outreach and emergency accommodation"),
    )),
    ("Northbrook and Vale NHS Foundation Trust", Sector.NHS, (
        ("Emergency Department", "Accident and emergency care at Northbrook General Hospital"),
        ("Community Mental Health Team", "Secondary mental health care in the community"),
    )),
    ("Northbrook and Vale Integrated Care Board", Sector.NHS, (
        ("Primary Care Networks", "GP practices working together across the borough"),
    )),
    ("Jobcentre Plus Northbrook", Sector.CENTRAL_GOVERNMENT, (
        ("Work Coach Support", "Help into work and with Universal Credit claims"),
    )),
    ("Northshire Police", Sector.POLICE_AND_JUSTICE, (
        ("Northbrook Neighbourhood Policing", "Neighbourhood policing teams and custody"),
        ("Integrated Offender Management", "Police and probation managing repeat offenders"),
    )),
    ("Brookside Homes", Sector.HOUSING, (
        ("Tenancy Sustainment", "Support for tenants at risk of losing their home"),
    )),
    ("Turning Point Northbrook", Sector.VOLUNTARY_AND_COMMUNITY, (
        ("Drug and Alcohol Recovery Service", "Treatment and recovery support for substance use"),
    )),
    ("Northbrook Women's Refuge", Sector.VOLUNTARY_AND_COMMUNITY, (
        ("Domestic Abuse Support", "Refuge places and community support for survivors"),
    )),
)

# Made up, printed by `joinedup demo`, for the demo place only.
DEMO_PASSWORD = "demo-password-northbrook"  # noqa: S105

DEMO_USERS: tuple[tuple[Role, str, str], ...] = (
    (Role.ADMIN, "admin@northbrook.example", "Alex Admin"),
    (Role.LEAD, "lead@northbrook.example", "Priya Shah"),
    (Role.ANALYST, "analyst@northbrook.example", "Tom Okafor"),
    (Role.PARTNER, "partner@northbrook.example", "Grace Mensah"),
    (Role.VIEWER, "viewer@northbrook.example", "Sam Taylor"),
)

# Three collaborations at different stages, each with a realistic charter.
COLLABORATIONS: tuple[dict[str, object], ...] = (
    {
        "name": "Fulfilling lives in Northbrook",
        "status": "active",
        "problem": (
            "About 400 adults in Northbrook are homeless, use drugs or alcohol and are in "
            "contact with the police at the same time. Each service sees a slice of their life, "
            "so people tell their story again and again, fall between services and return to "
            "crisis, and most of the cost lands on emergency services."
        ),
        "shared_goal": (
            "Every adult facing multiple disadvantage has one trusted lead worker and one shared "
            "plan, and fewer reach crisis."
        ),
        "value_accounting": (
            "Linked partner records measure crisis use before and after joining; costs use the "
            "Greater Manchester unit cost database, uprated to 2024-25 prices."
        ),
        "partners": (
            ("Northbrook Borough Council", "A lead worker team of six and a housing-first budget",
             "Its own eligibility rules for temporary accommodation for this group",
             "Director of Housing"),
            ("Turning Point Northbrook", "Fast-track into treatment, without a waiting list",
             "Discharge for missed appointments", "Service Manager"),
            ("Northshire Police", "A named officer and diversion instead of arrest where safe",
             "Counting arrests as its measure of success for this group", "Chief Inspector"),
            ("Northbrook and Vale NHS Foundation Trust", "Mental health in-reach to the hostel",
             "", ""),
        ),
        "measures": (
            ("Emergency department attendances per person per year", "attendances", "6.2", "3.5",
             date(2027, 3, 31)),
            ("People in settled accommodation after 12 months", "per cent", "18", "60",
             date(2027, 9, 30)),
        ),
        "risks": (
            ("Pooled budget overspends as demand is higher than modelled",
             "Partners share any overspend in proportion to their contribution"),
            ("A serious incident involving a client",
             "One joint review, led by the safeguarding adults board, not four separate ones"),
        ),
        "resources": (
            ("money", "Pooled housing-first budget", "Northbrook Borough Council", 450000),
            ("staff", "Six lead workers hosted by the council", "Northbrook Borough Council", None),
            ("data", "Monthly linked extract under DSA-2025-014", None, None),
        ),
    },
    {
        "name": "Northbrook domestic abuse partnership",
        "status": "forming",
        "problem": (
            "Survivors of domestic abuse are referred between the police, the refuge, housing "
            "and health, and too many return to the person who harmed them because no service "
            "can offer a safe home quickly."
        ),
        "shared_goal": "A survivor who asks for help is offered a safe place to live within a week.",
        "value_accounting": "Repeat incidents and time to safe housing, reported to the board each quarter.",
        "partners": (
            ("Northbrook Women's Refuge", "Specialist advocates and refuge places", "", ""),
            ("Northshire Police", "Referral on the day of the incident", "", ""),
            ("Brookside Homes", "Ten homes a year set aside for survivors",
             "Ordinary allocation rules for those homes", ""),
        ),
        "measures": (
            ("Days from first contact to safe housing", "days (median)", "47", "7", date(2027, 6, 30)),
        ),
        "risks": (),
        "resources": (("buildings", "Ten Brookside Homes flats", "Brookside Homes", None),),
    },
    {
        "name": "Winter pressures 2025",
        "status": "closed",
        "problem": "Hospital discharges were delayed last winter because care packages could not start.",
        "shared_goal": "No one stays in hospital more than a day after they are ready to leave.",
        "value_accounting": "Delayed discharge days, compared with the winter before.",
        "partners": (
            ("Northbrook and Vale NHS Foundation Trust", "A discharge coordinator", "",
             "Chief Operating Officer"),
            ("Northbrook Borough Council", "Same-day care assessments", "",
             "Director of Adult Social Care"),
            ("Northbrook and Vale Integrated Care Board", "Funding for step-down beds", "",
             "Chief Executive"),
        ),
        "measures": (
            ("Delayed discharge days over the winter", "days", "2,140", "1,000", date(2025, 4, 30)),
        ),
        "risks": (),
        "resources": (("money", "Step-down beds fund", "Northbrook and Vale Integrated Care Board", 300000),),
    },
)
