"""Synthetic Swedish population: a deterministic reference world, demo people and patients.

See docs/synthetic-data.md. `seed_population` and `seed_if_empty` are the entry points;
`DEMO_PEOPLE` names the well-known demo patients and clinicians.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from app.seed.loader import (
        AS_OF,
        SeedAlreadyLoaded,
        SeedStats,
        seed_if_empty,
        seed_population,
    )

# The loader (the database driver, the models, Faker) is imported on first use: `vardkedja
# token` needs only the demo people.
_FROM_LOADER = {"AS_OF", "SeedAlreadyLoaded", "SeedStats", "seed_if_empty", "seed_population"}


def __getattr__(name: str) -> Any:
    if name in _FROM_LOADER:
        from app.seed import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
