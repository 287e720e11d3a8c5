"""Synthetic Swedish population: a deterministic reference world, demo people and patients.

See docs/synthetic-data.md. `seed_population` and `seed_if_empty` are the entry points;
`DEMO_PEOPLE` names the well-known demo patients and clinicians.
"""

from app.seed.demo import (
    DEMO_CLINICIANS,
    DEMO_PATIENTS,
    DEMO_PEOPLE,
    DEMO_PROVIDERS,
    DEMO_RESEARCH_CLIENT_ID,
    DEMO_UNITS,
    DemoClinician,
    DemoPatient,
)
from app.seed.loader import AS_OF, SeedAlreadyLoaded, SeedStats, seed_if_empty, seed_population

__all__ = [
    "AS_OF",
    "DEMO_CLINICIANS",
    "DEMO_PATIENTS",
    "DEMO_PEOPLE",
    "DEMO_PROVIDERS",
    "DEMO_RESEARCH_CLIENT_ID",
    "DEMO_UNITS",
    "DemoClinician",
    "DemoPatient",
    "SeedAlreadyLoaded",
    "SeedStats",
    "seed_if_empty",
    "seed_population",
]
