"""The reference world: providers, units, practitioners and assignments, the same in every run.

Built by app.seed.builder from a constant random seed, so HSA-ids are stable across databases
and seeds; the units and clinicians of the demo people (app.seed.demo) have fixed HSA-ids.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from app.identifiers import luhn_check_digit
from app.seed.places import MUNICIPALITIES
from app.seed.tables import Row


@dataclass(frozen=True, slots=True, eq=False)
class Provider:
    id: uuid.UUID
    hsa_id: str
    name: str
    organisation_number: str
    kind: str
    municipality_code: str | None
    system_hsa_id: str  # the journal system that is the source of its records

    @property
    def public(self) -> bool:
        return self.kind in ("region", "kommun", "stat")


@dataclass(frozen=True, slots=True, eq=False)
class Unit:
    id: uuid.UUID
    hsa_id: str
    name: str
    provider: Provider
    kind: str
    municipality_code: str | None
    gln: str | None = None
    specialty: str | None = None
    # Precomputed header columns (care_provider_id, care_unit_id): seeding's hot loop.
    where: tuple[uuid.UUID, uuid.UUID] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "where", (self.provider.id, self.id))


@dataclass(frozen=True, slots=True, eq=False)
class Staff:
    id: uuid.UUID
    hsa_id: str
    given_name: str
    family_name: str
    profession: str
    role: str
    unit: Unit
    name: str = field(init=False)
    # Precomputed header columns (id, HSA-id, name, role): seeding's hot loop.
    who: tuple[uuid.UUID, str, str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.given_name} {self.family_name}")
        object.__setattr__(self, "who", (self.id, self.hsa_id, self.name, self.role))


@dataclass(slots=True)
class Hospital:
    name: str
    emergency: Unit
    wards: dict[str, Unit]  # "medicin", "ortopedi"
    clinics: dict[str, Unit]  # specialty -> specialist unit


@dataclass
class World:
    providers: list[Provider] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    assignments: list[Row] = field(default_factory=list)
    studies: list[Row] = field(default_factory=list)
    # lookups
    local: dict[tuple[str, str], list[Unit]] = field(default_factory=lambda: defaultdict(list))
    hospital_of: dict[str, Hospital] = field(default_factory=dict)  # by kommunkod
    kommun_of: dict[str, Provider] = field(default_factory=dict)
    team: dict[tuple[Unit, str], list[Staff]] = field(default_factory=lambda: defaultdict(list))
    by_hsa: dict[str, Unit | Staff | Provider] = field(default_factory=dict)
    study_ids: list[uuid.UUID] = field(default_factory=list)

    def staff_at(self, unit: Unit, profession: str) -> list[Staff]:
        return self.team[(unit, profession)]

    def unit(self, hsa_id: str) -> Unit:
        found = self.by_hsa[hsa_id]
        assert isinstance(found, Unit)
        return found

    def clinician(self, hsa_id: str) -> Staff:
        found = self.by_hsa[hsa_id]
        assert isinstance(found, Staff)
        return found

    def provider(self, hsa_id: str) -> Provider:
        found = self.by_hsa[hsa_id]
        assert isinstance(found, Provider)
        return found

    def reference_rows(self) -> dict[str, list[Row]]:
        return {
            "municipality": [(m.code, m.name, m.county) for m in MUNICIPALITIES],
            "care_provider": [
                (
                    p.id,
                    p.hsa_id,
                    p.name,
                    p.organisation_number,
                    p.kind,
                    p.municipality_code,
                    p.public,
                )
                for p in self.providers
            ],
            "care_unit": [
                (u.id, u.hsa_id, u.name, u.provider.id, u.kind, u.municipality_code, u.gln)
                for u in self.units
            ],
            "practitioner": [
                (s.id, s.hsa_id, s.given_name, s.family_name, s.profession) for s in self.staff
            ],
            "assignment": self.assignments,
            "research_study": self.studies,
        }


def organisation_number(nine: str) -> str:
    return f"{nine}{luhn_check_digit(nine)}"


def gln(twelve: str) -> str:
    """GS1 GLN: 12 digits and a check digit (weights 3,1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(twelve)))
    return f"{twelve}{(10 - total % 10) % 10}"


# Staff per unit kind: (profession, role, how many).
_WORLD: World | None = None


def world() -> World:
    """The reference world (built once per process)."""
    global _WORLD
    if _WORLD is None:
        from app.seed.builder import build_world

        _WORLD = build_world()
    return _WORLD
