"""Builds the reference world (app.seed.world) from a constant random seed."""

from __future__ import annotations

import string
import uuid
from datetime import date

from faker import Faker

from app.seed import demo
from app.seed.places import (
    DEFAULT_DISTRICTS,
    DISTRICTS,
    MUNICIPALITIES,
    REGIONS,
    SPECIALTIES,
    Place,
    Region,
)
from app.seed.rand import Rng
from app.seed.world import Hospital, Provider, Staff, Unit, World, gln, organisation_number

# What the demo studies' approvals release (A15): no free text, no clinicians' names, times cut
# to the month, counts under 5 hidden (the model's defaults); the demo study's approval allows
# pseudonymised record access, the other's cohort counts only.
DEFAULT_RELEASE = (False, False, "month", 5)

WORLD_SEED = "vardkedja-world-1"
_CODE_CHARS = string.ascii_uppercase + string.digits


TEAMS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "primary_care": (
        ("läkare", "läkare", 4),
        ("sjuksköterska", "distriktssköterska", 4),
        ("undersköterska", "undersköterska", 1),
    ),
    "emergency": (
        ("läkare", "läkare", 8),
        ("sjuksköterska", "sjuksköterska", 8),
        ("undersköterska", "undersköterska", 3),
    ),
    "hospital": (
        ("läkare", "läkare", 4),
        ("sjuksköterska", "sjuksköterska", 6),
        ("undersköterska", "undersköterska", 3),
    ),
    "specialist": (("läkare", "läkare", 3), ("sjuksköterska", "sjuksköterska", 2)),
    "dental": (("tandläkare", "tandläkare", 3), ("tandhygienist", "tandhygienist", 2)),
    "pharmacy": (("farmaceut", "apotekare", 2), ("farmaceut", "receptarie", 1)),
    "home_care": (
        ("sjuksköterska", "distriktssköterska", 2),
        ("undersköterska", "undersköterska", 4),
        ("biståndshandläggare", "biståndshandläggare", 2),
    ),
    "special_housing": (
        ("sjuksköterska", "sjuksköterska", 2),
        ("undersköterska", "undersköterska", 4),
    ),
    "lss": (("undersköterska", "stödassistent", 3),),
    "municipal_health": (
        ("sjuksköterska", "sjuksköterska", 3),
        ("arbetsterapeut", "arbetsterapeut", 1),
        ("fysioterapeut", "fysioterapeut", 1),
    ),
}

# Extra hospitals in the big regions and the kommuner they serve.
EXTRA_HOSPITALS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "01": (
        ("Karolinska Universitetssjukhuset", ("0184", "0183", "0123", "0126")),
        ("Danderyds sjukhus", ("0162", "0163", "0114", "0191", "0186", "0188")),
    ),
    "12": (
        ("Helsingborgs lasarett", ("1283", "1282")),
        ("Centralsjukhuset Kristianstad", ("1290",)),
    ),
    "14": (
        ("Södra Älvsborgs sjukhus", ("1490",)),
        ("NU-sjukvården, Uddevalla sjukhus", ("1485", "1488")),
        ("Skaraborgs sjukhus Skövde", ("1496",)),
    ),
}

PRIVATE_CARE = (
    ("Hälsoringen Vård AB", "Hälsoringen"),
    ("Medicentrum Sverige AB", "Medicentrum"),
    ("Familjeläkarna i Norden AB", "Familjeläkarna"),
)
PRIVATE_DENTAL = (
    ("Tandkliniken Lejonet AB", "Tandkliniken Lejonet"),
    ("Munhälsan Privattandvård AB", "Munhälsan"),
)
PHARMACY_CHAINS = (
    ("Apoteket AB", "Apoteket", "stat"),
    ("Apotek Lindra AB", "Apotek Lindra", "privat"),
    ("Hjortens Apotek AB", "Hjortens Apotek", "privat"),
)
HOUSING_NAMES = ("Solgården", "Lindgården", "Björkhagen", "Ekbacken", "Rosengården", "Tallåsen")


class _Builder:
    def __init__(self) -> None:
        self.rng = Rng(WORLD_SEED)
        self.fake = Faker("sv_SE")
        self.fake.seed_instance(7)
        self.world = World()
        self.codes: set[str] = set()
        self.start = date(2015, 1, 1)

    def new_id(self) -> uuid.UUID:
        return self.rng.uuid4()

    def hsa(self, org: str, fixed: str | None = None) -> str:
        if fixed is not None:
            self.codes.add(fixed)
            return fixed
        while True:
            code = f"SE{org}-{''.join(self.rng.choices(_CODE_CHARS, k=4))}"
            if code not in self.codes:
                self.codes.add(code)
                return code

    def provider(
        self, name: str, org: str, kind: str, muni: str | None, fixed: str | None = None
    ) -> Provider:
        hsa_id = self.hsa(org, fixed)
        p = Provider(self.new_id(), hsa_id, name, org, kind, muni, f"SE{org}-JS01")
        self.world.providers.append(p)
        self.world.by_hsa[hsa_id] = p
        return p

    def unit(
        self,
        name: str,
        provider: Provider,
        kind: str,
        muni: str | None,
        *,
        specialty: str | None = None,
        fixed: str | None = None,
    ) -> Unit:
        number = gln(f"735{self.rng.randrange(10**9):09d}") if kind == "pharmacy" else None
        u = Unit(
            self.new_id(),
            self.hsa(provider.organisation_number, fixed),
            name,
            provider,
            kind,
            muni,
            number,
            specialty,
        )
        self.world.units.append(u)
        self.world.by_hsa[u.hsa_id] = u
        if muni is not None:
            self.world.local[(muni, kind)].append(u)
        for profession, role, count in TEAMS[kind]:
            for _ in range(count):
                self.staff(u, profession, role)
        return u

    def staff(
        self, unit: Unit, profession: str, role: str, *, fixed: demo.DemoClinician | None = None
    ) -> Staff:
        if fixed is not None:
            given, family, hsa_id = fixed.given_name, fixed.family_name, self.hsa("", fixed.hsa_id)
        else:
            female = self.rng.random() < (
                0.8 if profession in ("sjuksköterska", "undersköterska") else 0.55
            )
            given = self.fake.first_name_female() if female else self.fake.first_name_male()
            family = self.fake.last_name()
            hsa_id = self.hsa(unit.provider.organisation_number)
        s = Staff(self.new_id(), hsa_id, given, family, profession, role, unit)
        self.world.staff.append(s)
        self.world.by_hsa[hsa_id] = s
        self.world.team[(unit, profession)].append(s)
        self.assign(s, unit, role)
        return s

    def assign(self, s: Staff, unit: Unit, role: str, valid_to: date | None = None) -> None:
        since = self.start.replace(year=self.rng.randint(2012, 2024), month=self.rng.randint(1, 12))
        self.world.assignments.append(
            (
                self.new_id(),
                s.id,
                unit.id,
                unit.provider.id,
                role,
                "vard_och_behandling",
                since,
                valid_to,
            )
        )

    def build(self) -> World:
        private = [
            self.provider(n, organisation_number(f"5567{i:05d}"[:9]), "privat", None)
            for i, (n, _) in enumerate(PRIVATE_CARE, start=1201)
        ]
        self._demo_providers(private)
        dental = [
            self.provider(n, organisation_number(f"5568{i:05d}"[:9]), "privat", None)
            for i, (n, _) in enumerate(PRIVATE_DENTAL, start=3401)
        ]
        chains = [self.world.provider(demo.DEMO_PROVIDERS["apoteket"].hsa_id)] + [
            self.provider(n, organisation_number(f"5569{i:05d}"[:9]), kind, None)
            for i, (n, _, kind) in enumerate(PHARMACY_CHAINS[1:], start=2345)
        ]
        regions = {r.county: self._region(r) for r in REGIONS}
        for place in MUNICIPALITIES:
            self._municipality(place, regions[place.county], private, dental, chains)
        self._hospitals(regions)
        self._demo_staff()
        self._rotations()
        # The demo study's id is fixed (`vardkedja token --as research` names it); the draw
        # stays, so that every id seeded after it is as before.
        self.new_id()
        self.world.study_ids = [demo.DEMO_STUDY_ID, self.new_id()]
        self.world.studies = [
            (
                self.world.study_ids[0],
                demo.DEMO_STUDY_NAME,
                "Dnr 2023-01234-01",
                date(2023, 3, 14),
                demo.DEMO_RESEARCH_CLIENT_ID,
                *DEFAULT_RELEASE,
                True,
            ),
            (
                self.world.study_ids[1],
                "Äldres läkemedelsanvändning i hemtjänst",
                "Dnr 2024-05678-02",
                date(2024, 9, 2),
                "research-aldre-lakemedel",
                *DEFAULT_RELEASE,
                False,
            ),
        ]
        return self.world

    def _demo_providers(self, private: list[Provider]) -> None:
        for p in demo.DEMO_PROVIDERS.values():
            if p.key == "private_vc":
                # The first private chain *is* the demo one: swap in its fixed identifiers.
                self.world.providers.remove(private[0])
                self.world.by_hsa.pop(private[0].hsa_id)
                private[0] = self.provider(p.name, p.organisation_number, p.kind, None, p.hsa_id)
            elif p.key == "apoteket":
                self.provider(p.name, p.organisation_number, p.kind, None, p.hsa_id)

    def _region(self, r: Region) -> Provider:
        org = organisation_number(r.org_prefix)
        fixed = demo.DEMO_PROVIDERS["region"].hsa_id if r.county == "01" else None
        return self.provider(r.name, org, "region", None, fixed)

    def _municipality(
        self,
        place: Place,
        region: Provider,
        private: list[Provider],
        dental: list[Provider],
        chains: list[Provider],
    ) -> None:
        code, name = place.code, place.name
        stockholm = code == demo.STOCKHOLM
        districts = DISTRICTS.get(code, DEFAULT_DISTRICTS)
        many = (
            len(districts)
            if code in DISTRICTS
            else (1 if place.population < 70 else 2 if place.population < 150 else 3)
        )
        fixed_units = {u.key: u for u in demo.DEMO_UNITS.values()} if stockholm else {}
        # Region: vårdcentraler and Folktandvården.
        for d in districts[:many]:
            label = d if code in DISTRICTS else f"{name} {d}"
            fixed = fixed_units["vc"].hsa_id if stockholm and d == "Södermalm" else None
            self.unit(f"Vårdcentralen {label}", region, "primary_care", code, fixed=fixed)
        for d in districts[: max(1, many // 2)]:
            label = d if code in DISTRICTS else name
            fixed = fixed_units["dental"].hsa_id if stockholm and d == "Södermalm" else None
            self.unit(f"Folktandvården {label}", region, "dental", code, fixed=fixed)
        # Private care, dental and pharmacies.
        if place.population >= 80 or stockholm:
            chain = private[int(code) % len(private)] if not stockholm else private[0]
            label = "Södermalm" if stockholm else name
            fixed = fixed_units["private_vc"].hsa_id if stockholm else None
            self.unit(
                f"{PRIVATE_CARE[private.index(chain)][1]} {label}",
                chain,
                "primary_care",
                code,
                fixed=fixed,
            )
        if place.population >= 60:
            chain = dental[int(code) % len(dental)]
            self.unit(f"{PRIVATE_DENTAL[dental.index(chain)][1]} {name}", chain, "dental", code)
        for i in range(3 if place.population >= 200 else 2):
            chain = chains[(int(code) + i) % len(chains)]
            brand = PHARMACY_CHAINS[chains.index(chain)][1]
            if stockholm and i == 0:
                self.unit(
                    "Apoteket Södermalm",
                    chains[0],
                    "pharmacy",
                    code,
                    fixed=fixed_units["pharmacy"].hsa_id,
                )
                continue
            self.unit(
                f"{brand} {name} {districts[i % len(districts)]}".rstrip(), chain, "pharmacy", code
            )
        # The kommun.
        if stockholm:
            kommun = self.world.by_hsa.get(demo.DEMO_PROVIDERS["kommun"].hsa_id)
            if not isinstance(kommun, Provider):
                p = demo.DEMO_PROVIDERS["kommun"]
                kommun = self.provider(p.name, p.organisation_number, "kommun", code, p.hsa_id)
        else:
            org = organisation_number(f"2120{code}0")
            title = "Region Gotland, socialförvaltningen" if code == "0980" else f"{name} kommun"
            kommun = self.provider(title, org, "kommun", code)
        self.world.kommun_of[code] = kommun
        for d in districts[: max(1, many // 2)]:
            label = d if code in DISTRICTS else name
            fixed = fixed_units["home_care"].hsa_id if stockholm and d == "Södermalm" else None
            self.unit(f"Hemtjänst {label}", kommun, "home_care", code, fixed=fixed)
        housing = HOUSING_NAMES[int(code) % len(HOUSING_NAMES)]
        self.unit(f"{housing}s äldreboende, {name}", kommun, "special_housing", code)
        fixed = fixed_units["lss"].hsa_id if stockholm else None
        self.unit(
            "Gruppbostaden Ringvägen" if fixed else f"LSS-boende {name}",
            kommun,
            "lss",
            code,
            fixed=fixed,
        )
        fixed = fixed_units["municipal_health"].hsa_id if stockholm else None
        title = "Kommunal hälso- och sjukvård " + ("Södermalm" if fixed else name)
        self.unit(title, kommun, "municipal_health", code, fixed=fixed)

    def _hospitals(self, regions: dict[str, Provider]) -> None:
        served: dict[str, Hospital] = {}
        for r in REGIONS:
            main = self._hospital(r.hospital, regions[r.county], r.hospital_town, r.county == "01")
            for place in MUNICIPALITIES:
                if place.county == r.county:
                    served[place.code] = main
            for name, towns in EXTRA_HOSPITALS.get(r.county, ()):
                extra = self._hospital(name, regions[r.county], towns[0], False)
                for t in towns:
                    served[t] = extra
        self.world.hospital_of = served

    def _hospital(self, name: str, region: Provider, town: str, demo_hospital: bool) -> Hospital:
        er_fixed = demo.DEMO_UNITS["er"].hsa_id if demo_hospital else None
        er = self.unit(f"{name}, akutmottagning", region, "emergency", town, fixed=er_fixed)
        wards = {
            "medicin": self.unit(
                f"{name}, medicinavdelning", region, "hospital", town, specialty="medicin"
            ),
            "ortopedi": self.unit(
                f"{name}, ortopedavdelning", region, "hospital", town, specialty="ortopedi"
            ),
        }
        clinics = {}
        for suffix, specialty in SPECIALTIES:
            fixed = (
                demo.DEMO_UNITS["psych"].hsa_id
                if demo_hospital and specialty == "psykiatri"
                else None
            )
            clinics[specialty] = self.unit(
                f"{name}, {suffix}", region, "specialist", town, specialty=specialty, fixed=fixed
            )
        return Hospital(name, er, wards, clinics)

    def _demo_staff(self) -> None:
        units = {k: self.world.unit(u.hsa_id) for k, u in demo.DEMO_UNITS.items()}
        where = {
            "er_doctor": "er",
            "psych_doctor": "psych",
            "private_gp": "private_vc",
            "home_care_nurse": "home_care",
            "case_officer": "home_care",
            "dentist": "dental",
            "pharmacist": "pharmacy",
        }
        for key, c in demo.DEMO_CLINICIANS.items():
            s = self.staff(units[where[key]], c.profession, c.role, fixed=c)
            if key == "home_care_nurse":
                self.assign(s, units["municipal_health"], c.role)
                self.world.team[(units["municipal_health"], c.profession)].append(s)

    def _rotations(self) -> None:
        """Some hospital doctors also work shifts at the emergency unit; some left a unit."""
        for s in list(self.world.staff):
            if s.unit.kind in ("hospital", "specialist") and s.profession == "läkare":
                if self.rng.random() < 0.25:
                    er = self.world.hospital_of[s.unit.municipality_code or ""].emergency
                    self.assign(s, er, "läkare")
            elif self.rng.random() < 0.03:
                ended = date(self.rng.randint(2019, 2025), self.rng.randint(1, 12), 1)
                self.assign(s, s.unit, s.role, valid_to=ended)


def build_world() -> World:
    return _Builder().build()
