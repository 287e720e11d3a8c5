"""The fixed inputs of a run, chosen deterministically from the seeded data.

Who asks: a clinician (läkare if there is one) with an active assignment at a care unit with
many current care relationships, purpose TREAT. Which patients: up to 400 candidates among that
unit's patients, ordered by md5 of their personnummer (a spread that is the same for the same
data), of which the runner keeps the first 100 whose whole emergency overview the policy lets
the clinician see (bench.equivalence.narrow_patients). The real access policy therefore lets
the clinician see these patients, as it would at work. The write workload uses other patients
of the unit, so that what it writes never shows in a read workload.

Blocks (spärrar) make the policy hide records that PostGraphile and the floor would return, so
the chosen unit is the busiest one whose first page of patients (the population list) has no
block in force at the unit's provider, and the emergency patients have no block at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import asyncpg
import orjson

from app.settings import Settings
from app.tokens import mint

PATIENTS = 100
CANDIDATES = 400  # narrowed to PATIENTS by bench.equivalence.narrow_patients


@dataclass(frozen=True)
class PatientRef:
    id: str
    personnummer: str
    identifier_kind: str


@dataclass(frozen=True)
class Writer:
    """Where written care contacts come from: the clinician's unit and provider."""

    care_unit_id: str
    care_provider_id: str
    care_unit_hsa_id: str
    practitioner_id: str | None
    practitioner_hsa_id: str | None
    practitioner_name: str | None


@dataclass
class Situation:
    """Who calls one situation operation (their headers, or one token per patient for the
    patient's own record) and for which patients; `provider_id` is the caller's care provider."""

    role: str
    headers: dict[str, str]
    patients: list[PatientRef]
    provider_id: str
    tokens: dict[str, str] = field(default_factory=dict)  # personnummer -> bearer token
    hsa_id: str = ""  # the caller's HSA-id (staff)

    def patient(self, i: int) -> PatientRef:
        return self.patients[i % len(self.patients)]

    def headers_for(self, i: int) -> dict[str, str]:
        token = self.tokens.get(self.patient(i).personnummer)
        return {"Authorization": f"Bearer {token}"} if token else self.headers


@dataclass
class Fixture:
    patients: list[PatientRef]
    writer: Writer
    write_patients: list[PatientRef]
    ours_headers: dict[str, str]
    write_prefix: str
    clinician: dict[str, Any] = field(default_factory=dict)
    situations: dict[str, Situation] = field(default_factory=dict)

    @property
    def cycle_length(self) -> int:
        return len(self.patients)

    def patient(self, i: int) -> PatientRef:
        return self.patients[i % len(self.patients)]

    def write_patient(self, i: int) -> PatientRef:
        return self.write_patients[i % len(self.write_patients)]

    def dump(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def load(cls, raw: bytes) -> Fixture:
        data = orjson.loads(raw)
        return cls(
            patients=[PatientRef(**p) for p in data["patients"]],
            writer=Writer(**data["writer"]),
            write_patients=[PatientRef(**p) for p in data["write_patients"]],
            ours_headers=data["ours_headers"],
            write_prefix=data["write_prefix"],
            clinician=data["clinician"],
            situations={
                name: Situation(
                    role=s["role"],
                    headers=s["headers"],
                    patients=[PatientRef(**p) for p in s["patients"]],
                    provider_id=s["provider_id"],
                    tokens=s["tokens"],
                    hsa_id=s["hsa_id"],
                )
                for name, s in data.get("situations", {}).items()
            },
        )


UNITS = """
SELECT u.id, u.hsa_id, u.care_provider_id, count(*) AS n
FROM care_relationship r JOIN care_unit u ON u.id = r.care_unit_id
WHERE r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now())
  AND EXISTS (SELECT 1 FROM assignment a WHERE a.care_unit_id = u.id
              AND a.valid_from <= current_date
              AND (a.valid_to IS NULL OR a.valid_to >= current_date))
GROUP BY u.id, u.hsa_id, u.care_provider_id
ORDER BY n DESC, u.hsa_id
LIMIT 20
"""

CURRENT = """
EXISTS (SELECT 1 FROM care_relationship r WHERE r.patient_id = p.id AND r.care_unit_id = $1
        AND r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now()))
"""

# The population list's first page (vardkedja's order): does any of it carry a block in force?
PAGE_BLOCKED = f"""
SELECT count(*) FROM (
    SELECT p.id FROM patient p WHERE {CURRENT}
    ORDER BY p.family_name, p.given_name, p.id LIMIT 50) page
JOIN block b ON b.patient_id = page.id AND b.lifted_at IS NULL AND b.care_provider_id = $2
"""

CLINICIAN = """
SELECT a.id AS assignment_id, a.role, p.id, p.hsa_id, p.given_name, p.family_name, p.profession,
       cp.hsa_id AS provider_hsa_id
FROM assignment a JOIN practitioner p ON p.id = a.practitioner_id
JOIN care_provider cp ON cp.id = a.care_provider_id
WHERE a.care_unit_id = $1 AND a.valid_from <= current_date
  AND (a.valid_to IS NULL OR a.valid_to >= current_date)
ORDER BY (p.profession = 'läkare') DESC, p.hsa_id
LIMIT 1
"""

# The emergency workload looks patients up by personnummer or samordningsnummer (the argument
# of `patient`); patients with a reservnummer are reached by search or global id instead.
UNIT_PATIENTS = f"""
SELECT p.id, p.identifier, p.identifier_kind FROM patient p
WHERE {CURRENT} AND p.deceased_on IS NULL AND p.identifier_kind <> 'reservnummer'
  AND NOT EXISTS (SELECT 1 FROM block b WHERE b.patient_id = p.id AND b.lifted_at IS NULL)
ORDER BY md5(p.identifier)
LIMIT $2
"""

# Patients the write workload records contacts for: the unit's, but none that a read workload
# shows (not on the population list's first page; the emergency ones are removed by the runner),
# so the reads see the same data in every round.
WRITE_PATIENTS = f"""
SELECT p.id, p.identifier, p.identifier_kind FROM patient p
WHERE {CURRENT} AND p.deceased_on IS NULL
  AND p.id NOT IN (SELECT p.id FROM patient p WHERE {CURRENT}
                   ORDER BY p.family_name, p.given_name, p.id LIMIT 50)
ORDER BY md5(p.identifier) DESC
LIMIT 200
"""

ANY_PATIENTS = """
SELECT id, identifier, identifier_kind FROM patient ORDER BY md5(identifier) LIMIT $1
"""


async def choose_fixture(url: str, secret: str, run_id: str) -> Fixture:
    conn = await asyncpg.connect(url)
    try:
        units = await conn.fetch(UNITS)
        if not units:
            raise SystemExit("the dataset has no care unit with care relationships and staff")
        unit = units[0]
        for candidate in units:
            if not await conn.fetchval(
                PAGE_BLOCKED, candidate["id"], candidate["care_provider_id"]
            ):
                unit = candidate
                break
        who = await conn.fetchrow(CLINICIAN, unit["id"])
        rows = await conn.fetch(UNIT_PATIENTS, unit["id"], CANDIDATES)
        if not rows:
            rows = await conn.fetch(ANY_PATIENTS, CANDIDATES)
        writes = await conn.fetch(WRITE_PATIENTS, unit["id"])
    finally:
        await conn.close()
    settings = Settings(jwt_secret=secret)
    name = f"{who['given_name']} {who['family_name']}"
    claims = {
        "name": name,
        "role": who["role"],
        "care_unit": unit["hsa_id"],
        "care_provider": who["provider_hsa_id"],
        "assignment": str(who["assignment_id"]),
    }
    token = mint(settings, kind="clinician", subject=who["hsa_id"], hours=24, **claims)
    headers = {"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "TREAT"}
    conn = await asyncpg.connect(url)
    try:
        situations = await choose_situations(conn, settings, rows, unit, headers, who["hsa_id"])
    finally:
        await conn.close()
    return Fixture(
        patients=[PatientRef(str(r["id"]), r["identifier"], r["identifier_kind"]) for r in rows],
        writer=Writer(
            care_unit_id=str(unit["id"]),
            care_provider_id=str(unit["care_provider_id"]),
            care_unit_hsa_id=unit["hsa_id"],
            practitioner_id=str(who["id"]),
            practitioner_hsa_id=who["hsa_id"],
            practitioner_name=name,
        ),
        write_patients=[
            PatientRef(str(r["id"]), r["identifier"], r["identifier_kind"]) for r in writes
        ],
        ours_headers=headers,
        write_prefix=f"bench-{run_id}-",
        clinician={"hsa_id": who["hsa_id"], "unit": unit["hsa_id"], **claims},
        situations=situations,
    )


# --- the situation operations: each as its own role ---------------------------------------

# The busiest unit of a kind (current care relationships, or for municipal units the granted
# decisions in force it carries out) that has staff of one of the professions.
BUSIEST_UNIT = """
SELECT u.id, u.hsa_id, u.care_provider_id, cp.hsa_id AS provider_hsa_id
FROM care_unit u JOIN care_provider cp ON cp.id = u.care_provider_id
WHERE u.kind = $1 AND EXISTS (
    SELECT 1 FROM assignment a JOIN practitioner p ON p.id = a.practitioner_id
    WHERE a.care_unit_id = u.id AND p.profession = ANY($2::text[])
      AND a.valid_from <= current_date AND (a.valid_to IS NULL OR a.valid_to >= current_date))
ORDER BY (SELECT count(*) FROM care_relationship r WHERE r.care_unit_id = u.id
          AND r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now()))
       + (SELECT count(*) FROM municipal_decision d WHERE d.care_unit_id = u.id
          AND NOT d.nullified AND (d.valid_to IS NULL OR d.valid_to >= current_date)) DESC,
         u.hsa_id
LIMIT 1
"""

STAFF = """
SELECT a.id AS assignment_id, a.role, p.hsa_id, p.given_name, p.family_name
FROM assignment a JOIN practitioner p ON p.id = a.practitioner_id
WHERE a.care_unit_id = $1 AND p.profession = ANY($2::text[])
  AND a.valid_from <= current_date AND (a.valid_to IS NULL OR a.valid_to >= current_date)
ORDER BY p.hsa_id
LIMIT 1
"""

NO_BLOCK = "NOT EXISTS (SELECT 1 FROM block b WHERE b.patient_id = p.id AND b.lifted_at IS NULL)"
ALIVE = "p.deceased_on IS NULL AND p.identifier_kind <> 'reservnummer'"

# Patients of a unit: a current care relationship there, or a decision in force it carries out.
UNIT_CANDIDATES = f"""
SELECT p.id, p.identifier, p.identifier_kind FROM patient p
WHERE {ALIVE} AND {NO_BLOCK} AND (
    EXISTS (SELECT 1 FROM care_relationship r WHERE r.patient_id = p.id AND r.care_unit_id = $1
            AND r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now()))
    OR EXISTS (SELECT 1 FROM municipal_decision d WHERE d.patient_id = p.id
               AND d.care_unit_id = $1 AND NOT d.nullified
               AND (d.valid_to IS NULL OR d.valid_to >= current_date)))
ORDER BY md5(p.identifier)
LIMIT $2
"""

# A pharmacy serves anyone with an active prescription (NLL expedition, no relationship).
PRESCRIBED = f"""
SELECT p.id, p.identifier, p.identifier_kind FROM patient p
WHERE {ALIVE} AND EXISTS (SELECT 1 FROM prescription x WHERE x.patient_id = p.id
                           AND x.status = 'aktiv' AND NOT x.nullified)
ORDER BY md5(p.identifier)
LIMIT $1
"""

# The patient app: adults (from 16 the patient reads their own record, A10).
ADULTS = f"""
SELECT p.id, p.identifier, p.identifier_kind FROM patient p
WHERE {ALIVE} AND p.birth_date <= current_date - interval '16 years'
ORDER BY md5(p.identifier)
LIMIT $1
"""

# (situation, unit kind, professions) of the staff who call each situation operation.
STAFF_SITUATIONS = (
    ("dental", "dental", ("tandläkare",)),
    ("pharmacy", "pharmacy", ("farmaceut",)),
    ("home_care", "home_care", ("sjuksköterska", "undersköterska")),
)


def _refs(rows: list[asyncpg.Record]) -> list[PatientRef]:
    return [PatientRef(str(r["id"]), r["identifier"], r["identifier_kind"]) for r in rows]


async def _staff_situation(
    conn: asyncpg.Connection, settings: Settings, kind: str, professions: tuple[str, ...]
) -> Situation | None:
    unit = await conn.fetchrow(BUSIEST_UNIT, kind, list(professions))
    if unit is None:
        return None
    who = await conn.fetchrow(STAFF, unit["id"], list(professions))
    if kind == "pharmacy":
        rows = await conn.fetch(PRESCRIBED, CANDIDATES)
    else:
        rows = await conn.fetch(UNIT_CANDIDATES, unit["id"], CANDIDATES)
    return _situation(settings, unit, who, rows, kind)


def _situation(
    settings: Settings,
    unit: asyncpg.Record,
    who: asyncpg.Record,
    rows: list[asyncpg.Record],
    kind: str,
) -> Situation:
    """A staff member's situation: their token (purpose TREAT) and candidate patients."""
    token = mint(
        settings,
        kind="clinician",
        subject=who["hsa_id"],
        hours=24,
        name=f"{who['given_name']} {who['family_name']}",
        role=who["role"],
        care_unit=unit["hsa_id"],
        care_provider=unit["provider_hsa_id"],
        assignment=str(who["assignment_id"]),
    )
    return Situation(
        role=f"{who['role']} {who['hsa_id']} at {unit['hsa_id']} ({kind})",
        headers={"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "TREAT"},
        patients=_refs(rows),
        provider_id=str(unit["care_provider_id"]),
        hsa_id=who["hsa_id"],
    )


# The municipal unit (with nurses) that most discharge plans are sent to, and its patients with
# a plan sent there first.
DISCHARGE_UNIT = """
SELECT u.id, u.hsa_id, u.care_provider_id, cp.hsa_id AS provider_hsa_id
FROM discharge_plan d JOIN care_unit u ON u.id = d.municipal_unit_id
JOIN care_provider cp ON cp.id = u.care_provider_id
WHERE NOT d.nullified AND EXISTS (
    SELECT 1 FROM assignment a JOIN practitioner p ON p.id = a.practitioner_id
    WHERE a.care_unit_id = u.id AND p.profession = ANY($1::text[])
      AND a.valid_from <= current_date AND (a.valid_to IS NULL OR a.valid_to >= current_date))
GROUP BY u.id, u.hsa_id, u.care_provider_id, cp.hsa_id
ORDER BY count(*) DESC, u.hsa_id
LIMIT 1
"""

DISCHARGED = f"""
SELECT p.id, p.identifier, p.identifier_kind FROM patient p
WHERE {ALIVE} AND {NO_BLOCK} AND (
    EXISTS (SELECT 1 FROM discharge_plan d WHERE d.patient_id = p.id
            AND d.municipal_unit_id = $1 AND NOT d.nullified)
    OR EXISTS (SELECT 1 FROM care_relationship r WHERE r.patient_id = p.id
               AND r.care_unit_id = $1 AND r.valid_from <= now()
               AND (r.valid_to IS NULL OR r.valid_to > now()))
    OR EXISTS (SELECT 1 FROM municipal_decision d WHERE d.patient_id = p.id
               AND d.care_unit_id = $1 AND NOT d.nullified
               AND (d.valid_to IS NULL OR d.valid_to >= current_date)))
ORDER BY EXISTS (SELECT 1 FROM discharge_plan d WHERE d.patient_id = p.id
                 AND d.municipal_unit_id = $1 AND NOT d.nullified) DESC,
         md5(p.identifier)
LIMIT $2
"""


async def _discharge_situation(conn: asyncpg.Connection, settings: Settings) -> Situation | None:
    nurses = ["sjuksköterska"]
    unit = await conn.fetchrow(DISCHARGE_UNIT, nurses)
    if unit is None:
        return None
    who = await conn.fetchrow(STAFF, unit["id"], nurses)
    rows = await conn.fetch(DISCHARGED, unit["id"], CANDIDATES)
    return _situation(settings, unit, who, rows, "discharge")


async def choose_situations(
    conn: asyncpg.Connection,
    settings: Settings,
    unit_rows: list[asyncpg.Record],
    unit: asyncpg.Record,
    clinician_headers: dict[str, str],
    clinician_hsa: str,
) -> dict[str, Situation]:
    """Callers and candidate patients of every situation workload (narrowed by the runner to
    those whose answer the policy gives in full, bench.equivalence.narrow_situations)."""
    out: dict[str, Situation] = {}
    for name, kind, professions in STAFF_SITUATIONS:
        found = await _staff_situation(conn, settings, kind, professions)
        if found is not None:
            out[name] = found
    discharge = await _discharge_situation(conn, settings)
    if discharge is not None:
        out["discharge"] = discharge
    elif "home_care" in out:  # no discharge plan at all: the home-care nurse's patients
        out["discharge"] = replace(out["home_care"], patients=list(out["home_care"].patients))
    adults = _refs(await conn.fetch(ADULTS, CANDIDATES))
    out["my_record"] = Situation(
        role="the patient (own record)",
        headers={},
        patients=adults,
        provider_id=str(unit["care_provider_id"]),
        tokens={
            p.personnummer: mint(
                settings, kind="patient", subject=p.personnummer, hours=24, pnr=p.personnummer
            )
            for p in adults
        },
    )
    out["overview"] = Situation(
        role="the emergency workload's clinician",
        headers=clinician_headers,
        patients=_refs(unit_rows),
        provider_id=str(unit["care_provider_id"]),
        hsa_id=clinician_hsa,
    )
    return out
