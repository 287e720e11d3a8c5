"""Well-known demo people: always seeded, identical in every database, whatever N and seed.

Docs, development tokens and tests refer to them by these identifiers. See
docs/synthetic-data.md for what each record shows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class DemoPatient:
    key: str
    personnummer: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    shows: str  # what the record demonstrates
    protected_identity: bool = False


@dataclass(frozen=True, slots=True)
class DemoClinician:
    key: str
    hsa_id: str
    given_name: str
    family_name: str
    profession: str
    role: str
    unit_hsa_id: str
    provider_hsa_id: str
    shows: str


@dataclass(frozen=True, slots=True)
class DemoUnit:
    """A unit the demo people use, with fixed HSA-ids (the rest of the world is generated)."""

    key: str
    hsa_id: str
    name: str
    kind: str
    provider_key: str


@dataclass(frozen=True, slots=True)
class DemoProvider:
    key: str
    hsa_id: str
    name: str
    organisation_number: str
    kind: str
    municipality_code: str | None


STOCKHOLM = "0180"

DEMO_PROVIDERS: dict[str, DemoProvider] = {
    p.key: p
    for p in (
        DemoProvider(
            "region", "SE2321000016-RSTH", "Region Stockholm", "2321000016", "region", None
        ),
        DemoProvider(
            "kommun", "SE2120000142-STAD", "Stockholms stad", "2120000142", "kommun", STOCKHOLM
        ),
        DemoProvider(
            "private_vc", "SE5567012348-HRV1", "Hälsoringen Vård AB", "5567012348", "privat", None
        ),
        DemoProvider("apoteket", "SE5561386532-APAB", "Apoteket AB", "5561386532", "stat", None),
    )
}

DEMO_UNITS: dict[str, DemoUnit] = {
    u.key: u
    for u in (
        DemoUnit(
            "er", "SE2321000016-SOAK", "Södersjukhuset, akutmottagning", "emergency", "region"
        ),
        DemoUnit(
            "psych",
            "SE2321000016-SOPS",
            "Södersjukhuset, psykiatrisk mottagning",
            "specialist",
            "region",
        ),
        DemoUnit("vc", "SE2321000016-VCSO", "Vårdcentralen Södermalm", "primary_care", "region"),
        DemoUnit("dental", "SE2321000016-FTSO", "Folktandvården Södermalm", "dental", "region"),
        DemoUnit("home_care", "SE2120000142-HTSO", "Hemtjänst Södermalm", "home_care", "kommun"),
        DemoUnit(
            "municipal_health",
            "SE2120000142-HSSO",
            "Kommunal hälso- och sjukvård Södermalm",
            "municipal_health",
            "kommun",
        ),
        DemoUnit("lss", "SE2120000142-LSSO", "Gruppbostaden Ringvägen", "lss", "kommun"),
        DemoUnit(
            "private_vc", "SE5567012348-HRSO", "Hälsoringen Södermalm", "primary_care", "private_vc"
        ),
        DemoUnit("pharmacy", "SE5561386532-APSO", "Apoteket Södermalm", "pharmacy", "apoteket"),
    )
}

DEMO_PATIENTS: dict[str, DemoPatient] = {
    p.key: p
    for p in (
        DemoPatient(
            "tolvan",
            "191212121212",
            "Tolvan",
            "Tolvansson",
            date(1912, 12, 12),
            "male",
            "Skatteverket's test person, over 100: region, ER stay, home care (SoL before and "
            "after 2025-07-01), municipal health care, dental, warfarin with dispensations, "
            "penicillin allergy",
        ),
        DemoPatient(
            "guardian",
            "198604092489",
            "Karin",
            "Lindberg",
            date(1986, 4, 9),
            "female",
            "Guardian of Ella and Oskar; power of attorney for Tolvan",
        ),
        DemoPatient(
            "child",
            "201908235623",
            "Ella",
            "Lindberg",
            date(2019, 8, 23),
            "female",
            "Child under 13 with a guardian (Karin): BVC, vaccinations, otitis, ER visit",
        ),
        DemoPatient(
            "teen",
            "201203152713",
            "Oskar",
            "Lindberg",
            date(2012, 3, 15),
            "male",
            "Teenager 13-15 with a guardian (Karin): asthma, HPV vaccination",
        ),
        DemoPatient(
            "outer_block",
            "197506023394",
            "Johan",
            "Berglund",
            date(1975, 6, 2),
            "male",
            "Outer block on Hälsoringen Vård AB (private vårdcentral), SVOD consent at the ER",
        ),
        DemoPatient(
            "inner_block",
            "199010304468",
            "Maria",
            "Sandberg",
            date(1990, 10, 30),
            "female",
            "Inner block on Södersjukhuset psykiatrisk mottagning, medication excepted",
        ),
        DemoPatient(
            "protected",
            "198301193846",
            "Sofia",
            "Ek",
            date(1983, 1, 19),
            "female",
            "Protected identity (sekretessmarkering): the address must never be shown",
            protected_identity=True,
        ),
        DemoPatient(
            "research",
            "195811041572",
            "Lars",
            "Nyström",
            date(1958, 11, 4),
            "male",
            "Research consent to the demo study; hypertension and high cholesterol",
        ),
        DemoPatient(
            "lss",
            "199802112137",
            "Emil",
            "Holm",
            date(1998, 2, 11),
            "male",
            "Autism with LSS decisions (daglig verksamhet, bostad med särskild service)",
        ),
    )
}

DEMO_CLINICIANS: dict[str, DemoClinician] = {
    c.key: c
    for c in (
        DemoClinician(
            "er_doctor",
            "SE2321000016-DR01",
            "Sara",
            "Lindqvist",
            "läkare",
            "läkare",
            DEMO_UNITS["er"].hsa_id,
            DEMO_PROVIDERS["region"].hsa_id,
            "Doctor at the emergency unit; care relationship with every demo patient",
        ),
        DemoClinician(
            "psych_doctor",
            "SE2321000016-DR02",
            "Nils",
            "Åberg",
            "läkare",
            "läkare",
            DEMO_UNITS["psych"].hsa_id,
            DEMO_PROVIDERS["region"].hsa_id,
            "Psychiatrist inside Maria's inner-blocked unit",
        ),
        DemoClinician(
            "private_gp",
            "SE5567012348-DR03",
            "Hanna",
            "Wikström",
            "läkare",
            "läkare",
            DEMO_UNITS["private_vc"].hsa_id,
            DEMO_PROVIDERS["private_vc"].hsa_id,
            "GP at the private vårdcentral Johan blocked outwards",
        ),
        DemoClinician(
            "home_care_nurse",
            "SE2120000142-SK01",
            "Eva",
            "Holmberg",
            "sjuksköterska",
            "distriktssköterska",
            DEMO_UNITS["home_care"].hsa_id,
            DEMO_PROVIDERS["kommun"].hsa_id,
            "District nurse in home care (also assigned to municipal health care); Tolvan",
        ),
        DemoClinician(
            "case_officer",
            "SE2120000142-BH01",
            "Peter",
            "Sjögren",
            "biståndshandläggare",
            "biståndshandläggare",
            DEMO_UNITS["home_care"].hsa_id,
            DEMO_PROVIDERS["kommun"].hsa_id,
            "Case officer who decided Tolvan's and Emil's insatser",
        ),
        DemoClinician(
            "dentist",
            "SE2321000016-TL01",
            "Mikael",
            "Strand",
            "tandläkare",
            "tandläkare",
            DEMO_UNITS["dental"].hsa_id,
            DEMO_PROVIDERS["region"].hsa_id,
            "Dentist at Folktandvården; treats Tolvan (on warfarin) and the children",
        ),
        DemoClinician(
            "pharmacist",
            "SE5561386532-FA01",
            "Leila",
            "Karimi",
            "farmaceut",
            "apotekare",
            DEMO_UNITS["pharmacy"].hsa_id,
            DEMO_PROVIDERS["apoteket"].hsa_id,
            "Pharmacist who dispenses Tolvan's prescriptions",
        ),
    )
}

DEMO_RESEARCH_CLIENT_ID = "research-demo-client"
DEMO_STUDY_NAME = "Hjärt-kärlsjukdom hos äldre (demostudie)"
# Fixed, so that a research token for the demo study can be minted without the database.
DEMO_STUDY_ID = uuid.UUID("5e0d5e0d-0000-4000-8000-000000000001")

# One table of every demo identifier, for docs and development tokens.
DEMO_PEOPLE: dict[str, DemoPatient | DemoClinician] = {**DEMO_PATIENTS, **DEMO_CLINICIANS}
