"""The synthetic population: every table filled, valid identifiers and codes, consistent
headers, the demo people, determinism (same seed, same rows, with or without deferred foreign
keys), no collisions between seeds, and seed_if_empty leaving a populated database alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import pytest
from sqlmodel import SQLModel

from app import migrate
from app.db import to_plain_url
from app.identifiers import (
    normalize_icd10_se,
    normalize_organisationsnummer,
    normalize_personnummer,
    normalize_samordningsnummer,
    validate_atc,
    validate_fdi_tooth,
    validate_hsa_id,
    validate_lab_code,
    validate_municipality_code,
    validate_npl_id,
    validate_reservnummer,
    validate_tlv_condition_code,
    validate_tlv_procedure_code,
    validate_tooth_surface,
)
from app.seed import (
    DEMO_CLINICIANS,
    DEMO_PATIENTS,
    DEMO_RESEARCH_CLIENT_ID,
    SeedAlreadyLoaded,
    SeedStats,
    seed_if_empty,
    seed_population,
)
from app.seed.tables import ALL_COLUMNS, NOT_SEEDED

PATIENTS = 30
SEED = 11
CHECKSUMMED = ("patient", "prescription", "care_document", "municipal_decision", "practitioner")
CLINICAL = (
    "care_contact", "care_document", "diagnosis", "alert", "functional_status", "lab_result",
    "referral_outcome", "vaccination", "prescription", "dispensation", "dental_treatment",
    "tooth_finding", "municipal_decision", "implementation_plan",
)  # fmt: skip


def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(to_plain_url(url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def value(url: str, sql: str, *args: Any) -> Any:
    return query(url, sql, *args)[0][0]


def checksums(url: str) -> dict[str, str]:
    order = {"patient": "t.id", "practitioner": "t.id"}
    sums = {}
    for table in CHECKSUMMED:
        by = order.get(table, "t.patient_id, t.id")
        sums[table] = value(
            url, f"SELECT md5(string_agg(t::text, '|' ORDER BY {by})) FROM {table} t"
        )
    return sums


@dataclass
class Seeded:
    url: str  # foreign keys checked per row
    stats: SeedStats
    other_stats: SeedStats  # the same seed into another database, foreign keys deferred
    sums: dict[str, str]
    other_sums: dict[str, str]
    progress: list[tuple[int, int]]


@pytest.fixture(scope="module")
def seeded(fresh_database: Callable[[], str]) -> Seeded:
    first, second = fresh_database(), fresh_database()
    migrate.upgrade(first)
    migrate.upgrade(second)
    calls: list[tuple[int, int]] = []
    stats = asyncio.run(
        seed_population(
            first,
            patients=PATIENTS,
            seed=SEED,
            defer_foreign_keys=False,
            progress=lambda done, total: calls.append((done, total)),
        )
    )
    other = asyncio.run(
        seed_population(second, patients=PATIENTS, seed=SEED, defer_foreign_keys=True)
    )
    return Seeded(first, stats, other, checksums(first), checksums(second), calls)


def test_every_table_has_rows(seeded: Seeded) -> None:
    empty = [
        name
        for name in SQLModel.metadata.tables
        # Identifiers of other systems, preserved FHIR elements, the change log, webhooks:
        # imports, triggers and integrations bring them, not the seed.
        if name not in NOT_SEEDED - {"legal_basis", "insats"}
        and not value(seeded.url, f"SELECT EXISTS (SELECT 1 FROM {name})")
    ]
    assert empty == []
    assert value(seeded.url, "SELECT count(*) FROM patient") == PATIENTS + len(DEMO_PATIENTS)
    assert seeded.progress[-1] == (PATIENTS, PATIENTS)
    assert str(seeded.stats).startswith(f"{PATIENTS} patients, ")


def test_column_lists_match_the_models() -> None:
    for name, table in SQLModel.metadata.tables.items():
        if name in NOT_SEEDED:
            continue
        assert set(ALL_COLUMNS[name]) == {c.name for c in table.columns}, name
        assert len(ALL_COLUMNS[name]) == len(table.columns), name


def test_same_seed_same_rows_whichever_way_foreign_keys_are_checked(seeded: Seeded) -> None:
    assert seeded.sums == seeded.other_sums
    assert seeded.stats.rows == seeded.other_stats.rows
    assert all(seeded.sums.values())


def test_person_identifiers_are_valid_and_match_sex(seeded: Seeded) -> None:
    rows = query(seeded.url, "SELECT identifier_kind, identifier, sex, birth_date FROM patient")
    for kind, identifier, sex, born in rows:
        if kind == "reservnummer":
            validate_reservnummer(identifier)
            continue
        normalize = (
            normalize_personnummer if kind == "personnummer" else normalize_samordningsnummer
        )
        assert normalize(identifier) == identifier
        assert sex == ("male" if int(identifier[10]) % 2 else "female"), identifier
        day = int(identifier[6:8]) - (60 if kind == "samordningsnummer" else 0)
        assert born == date(int(identifier[:4]), int(identifier[4:6]), day)


def test_hsa_ids_and_organisations_are_valid(seeded: Seeded) -> None:
    hsa_ids = query(
        seeded.url,
        """SELECT hsa_id FROM practitioner UNION ALL SELECT hsa_id FROM care_unit
           UNION ALL SELECT hsa_id FROM care_provider
           UNION SELECT source_system_hsa_id FROM care_document
           UNION SELECT accountable_hsa_id FROM diagnosis WHERE accountable_hsa_id IS NOT NULL
           UNION SELECT legal_authenticator_hsa_id FROM care_document
             WHERE legal_authenticator_hsa_id IS NOT NULL""",
    )
    for (hsa_id,) in hsa_ids:
        validate_hsa_id(hsa_id)
    for (org,) in query(seeded.url, "SELECT organisation_number FROM care_provider"):
        assert normalize_organisationsnummer(org) == org
    kinds = {r[0] for r in query(seeded.url, "SELECT DISTINCT kind FROM care_provider")}
    assert kinds == {"region", "kommun", "privat", "stat"}
    unit_kinds = {r[0] for r in query(seeded.url, "SELECT DISTINCT kind FROM care_unit")}
    assert len(unit_kinds) == 10
    for (gln,) in query(seeded.url, "SELECT gln FROM care_unit WHERE kind = 'pharmacy'"):
        assert len(gln) == 13 and gln.isdigit() and gln.startswith("735")
    for code, county in query(seeded.url, "SELECT code, county_code FROM municipality"):
        assert validate_municipality_code(code) == code and len(county) == 2
    assert value(seeded.url, "SELECT count(*) FROM municipality") >= 30


def test_codes_are_valid(seeded: Seeded) -> None:
    for (code,) in query(seeded.url, "SELECT DISTINCT code FROM diagnosis"):
        assert normalize_icd10_se(code) == code
    for atc, npl in query(seeded.url, "SELECT DISTINCT atc_code, drug_npl_id FROM prescription"):
        validate_atc(atc)
        validate_npl_id(npl)
    for system, code in query(seeded.url, "SELECT DISTINCT code_system, code FROM lab_result"):
        validate_lab_code(system, code)
    for condition, procedure, tooth, surface in query(
        seeded.url, "SELECT condition_code, procedure_code, tooth, surface FROM dental_treatment"
    ):
        validate_tlv_condition_code(condition)
        validate_tlv_procedure_code(procedure)
        if tooth is not None:
            validate_fdi_tooth(tooth)
        if surface is not None:
            validate_tooth_surface(surface)
    for tooth, surface in query(seeded.url, "SELECT tooth, surface FROM tooth_finding"):
        validate_fdi_tooth(tooth)
        if surface is not None:
            validate_tooth_surface(surface)


def test_numbers_and_times_arrive_intact(seeded: Seeded) -> None:
    """The seeding connection encodes numerics and timestamps itself: check what was stored."""
    potassium = query(
        seeded.url,
        "SELECT DISTINCT reference_low::text, reference_high::text, unit FROM lab_result"
        " WHERE code = 'NPU03230'",
    )
    # Lab values keep the digits they are written with (unconstrained numeric, 0009_fhir).
    assert potassium == [("3.5", "4.6", "mmol/L")]
    prices = query(
        seeded.url,
        "SELECT DISTINCT price_sek::text FROM dental_treatment WHERE procedure_code = '101'",
    )
    assert prices == [("1115.00",)]
    amounts = {r[0] for r in query(seeded.url, "SELECT DISTINCT amount FROM dispensation")}
    assert amounts <= {1, -1} and 1 in amounts
    outside = value(
        seeded.url,
        """SELECT count(*) FROM care_contact
           WHERE event_time < '2021-10-01' OR event_time > '2027-01-15'""",
    )
    assert outside == 0
    tolvan_stay = query(
        seeded.url,
        """SELECT c.event_time::text FROM care_contact c JOIN patient p ON p.id = c.patient_id
           WHERE p.identifier = '191212121212' AND c.status = 'pagaende'""",
    )
    assert [r[0][:10] for r in tolvan_stay] == ["2026-10-27"]


def test_headers_are_consistent(seeded: Seeded) -> None:
    for table in CLINICAL:
        mismatched = value(
            seeded.url,
            f"""SELECT count(*) FROM {table} t JOIN care_unit u ON u.id = t.care_unit_id
                WHERE u.care_provider_id <> t.care_provider_id
                   OR (t.legal_authenticator_time IS NULL) <> (t.legal_authenticator_hsa_id IS NULL)
                   OR t.nullified <> (t.nullified_reason IS NOT NULL)""",
        )
        assert mismatched == 0, table
    duplicates = value(
        seeded.url,
        """SELECT count(*) FROM (SELECT 1 FROM care_document
           GROUP BY patient_id, source_system_hsa_id, document_id HAVING count(*) > 1) d""",
    )
    assert duplicates == 0
    assert value(seeded.url, "SELECT count(*) FROM diagnosis WHERE care_contact_id IS NULL") == 0
    statuses = {r[0] for r in query(seeded.url, "SELECT DISTINCT status FROM care_contact")}
    assert {"avslutad", "pagaende"} <= statuses
    ongoing = "SELECT count(*) FROM care_contact WHERE status = 'pagaende' AND period_end IS NULL"
    assert value(seeded.url, ongoing) >= 1


def test_prescription_chains(seeded: Seeded) -> None:
    wrong_validity = value(
        seeded.url,
        """SELECT count(*) FROM prescription
           WHERE valid_until <> (event_time AT TIME ZONE 'UTC')::date + 366""",
    )
    assert wrong_validity == 0
    broken_chains = value(
        seeded.url,
        """SELECT count(*) FROM prescription p JOIN prescription r
             ON r.patient_id = p.patient_id AND r.id = p.replaces_id
           WHERE r.chain_id <> p.chain_id OR r.event_time > p.event_time""",
    )
    assert broken_chains == 0
    renewed = "SELECT count(*) FROM prescription WHERE replaces_id IS NOT NULL"
    assert value(seeded.url, renewed) > 0
    statuses = {r[0] for r in query(seeded.url, "SELECT DISTINCT status FROM prescription")}
    assert {"aktiv", "ersatt", "utgangen"} <= statuses
    elsewhere = value(
        seeded.url,
        """SELECT count(*) FROM dispensation d JOIN care_unit u ON u.id = d.care_unit_id
           WHERE u.kind <> 'pharmacy'""",
    )
    assert elsewhere == 0


def test_municipal_decisions_rest_on_the_law_in_force(seeded: Seeded) -> None:
    rows = query(
        seeded.url,
        """SELECT d.legal_basis_code, d.decided_on, i.framework
           FROM municipal_decision d JOIN insats i ON i.code = d.insats_code""",
    )
    for basis, decided, framework in rows:
        if framework == "lss":
            assert basis == "LSS-9"
        else:
            expected = "SOL2001-4-1" if decided < date(2025, 7, 1) else "SOL2025-BISTAND"
            assert basis == expected, (basis, decided)
    assert {r[0] for r in rows} == {"LSS-9", "SOL2001-4-1", "SOL2025-BISTAND"}


def test_guardians_are_adults_of_children(seeded: Seeded) -> None:
    rows = query(
        seeded.url,
        """SELECT c.birth_date, g.birth_date FROM representative r
           JOIN patient c ON c.id = r.patient_id
           JOIN patient g ON g.id = r.representative_patient_id
           WHERE r.kind = 'guardian'""",
    )
    assert rows
    for child, guardian in rows:
        assert (child - guardian).days > 18 * 365
        assert child > date(2026, 11, 1).replace(year=2026 - 18)


def test_demo_people_and_their_records(seeded: Seeded) -> None:
    url = seeded.url
    for person in DEMO_PATIENTS.values():
        row = query(
            url,
            "SELECT given_name, protected_identity FROM patient WHERE identifier = $1",
            person.personnummer,
        )
        assert row and row[0][0] == person.given_name, person.key
        assert row[0][1] == person.protected_identity
    for clinician in DEMO_CLINICIANS.values():
        active = value(
            url,
            """SELECT count(*) FROM assignment a JOIN practitioner p ON p.id = a.practitioner_id
               JOIN care_unit u ON u.id = a.care_unit_id
               JOIN care_provider v ON v.id = u.care_provider_id
               WHERE p.hsa_id = $1 AND u.hsa_id = $2 AND v.hsa_id = $3 AND a.valid_to IS NULL""",
            clinician.hsa_id,
            clinician.unit_hsa_id,
            clinician.provider_hsa_id,
        )
        assert active == 1, clinician.key
    doctor_patients = value(
        url,
        """SELECT count(DISTINCT r.patient_id) FROM care_relationship r
           JOIN practitioner p ON p.id = r.practitioner_id
           JOIN care_unit u ON u.id = r.care_unit_id
           JOIN patient x ON x.id = r.patient_id
           WHERE p.hsa_id = $1 AND u.hsa_id = $2 AND r.valid_to IS NULL
             AND x.identifier = ANY($3)""",
        DEMO_CLINICIANS["er_doctor"].hsa_id,
        DEMO_CLINICIANS["er_doctor"].unit_hsa_id,
        [p.personnummer for p in DEMO_PATIENTS.values()],
    )
    assert doctor_patients == len(DEMO_PATIENTS)
    tolvan = "(SELECT id FROM patient WHERE identifier = '191212121212')"
    bases = query(
        url, f"SELECT DISTINCT legal_basis_code FROM municipal_decision WHERE patient_id = {tolvan}"
    )
    assert {r[0] for r in bases} == {"SOL2001-4-1", "SOL2025-BISTAND"}
    dispensed = value(
        url,
        f"""SELECT count(*) FROM dispensation d JOIN prescription p
              ON p.patient_id = d.patient_id AND p.id = d.prescription_id
            WHERE d.patient_id = {tolvan} AND p.atc_code = 'B01AA03'
              AND d.accountable_hsa_id = $1""",
        DEMO_CLINICIANS["pharmacist"].hsa_id,
    )
    assert dispensed > 0
    kinds = {
        r[0]
        for r in query(url, f"SELECT DISTINCT kind FROM representative WHERE patient_id = {tolvan}")
    }
    assert kinds == {"power_of_attorney"}
    blocks = query(
        url,
        """SELECT p.identifier, b.kind, b.except_medication, b.lifted_at FROM block b
           JOIN patient p ON p.id = b.patient_id WHERE p.identifier = ANY($1)""",
        [DEMO_PATIENTS["outer_block"].personnummer, DEMO_PATIENTS["inner_block"].personnummer],
    )
    assert sorted((r[1], r[2], r[3]) for r in blocks) == [
        ("inner", True, None),
        ("outer", False, None),
    ]
    research = value(
        url,
        """SELECT count(*) FROM consent c JOIN research_study s ON s.id = c.research_study_id
           JOIN patient p ON p.id = c.patient_id
           WHERE p.identifier = $1 AND s.client_id = $2 AND c.kind = 'research'""",
        DEMO_PATIENTS["research"].personnummer,
        DEMO_RESEARCH_CLIENT_ID,
    )
    assert research == 1


def test_seed_if_empty_then_another_seed_then_the_same_seed_again(
    fresh_database: Callable[[], str],
) -> None:
    url = fresh_database()
    migrate.upgrade(url)
    first = asyncio.run(seed_if_empty(url, patients=8, seed=1))
    assert first is not None and first.patients == 8
    asyncio.run(seed_population(url, patients=8, seed=2))
    assert value(url, "SELECT count(*) FROM patient") == 16 + len(DEMO_PATIENTS)
    assert value(url, "SELECT count(*) FROM care_provider") == value(
        url, "SELECT count(DISTINCT hsa_id) FROM care_provider"
    )
    with pytest.raises(SeedAlreadyLoaded):
        asyncio.run(seed_population(url, patients=8, seed=2))


def test_seed_if_empty_leaves_a_populated_database_alone(seeded: Seeded) -> None:
    before = value(seeded.url, "SELECT count(*) FROM care_contact")
    assert asyncio.run(seed_if_empty(seeded.url, patients=5, seed=99)) is None
    assert value(seeded.url, "SELECT count(*) FROM care_contact") == before


def test_signing_lists_sign_active_prescriptions_in_municipal_care(seeded: Seeded) -> None:
    wrong = value(
        seeded.url,
        """SELECT count(*) FROM medication_administration a
           JOIN prescription p ON p.patient_id = a.patient_id AND p.id = a.prescription_id
           JOIN care_unit u ON u.id = a.care_unit_id
           WHERE p.status <> 'aktiv'
              OR u.kind NOT IN ('home_care', 'special_housing', 'lss', 'municipal_health')
              OR (a.outcome = 'not_given') <> (a.not_given_reason IS NOT NULL)
              OR a.event_time < a.planned_at""",
    )
    assert wrong == 0
    outcomes = {r[0] for r in query(seeded.url, "SELECT outcome FROM medication_administration")}
    assert outcomes == {"given", "not_given", "self_administered"}


def test_tolvans_warfarin_is_signed_by_the_district_nurse(seeded: Seeded) -> None:
    rows = query(
        seeded.url,
        """SELECT a.outcome, a.accountable_hsa_id, a.dose_text
           FROM medication_administration a
           JOIN prescription p ON p.patient_id = a.patient_id AND p.id = a.prescription_id
           JOIN patient t ON t.id = a.patient_id
           WHERE t.identifier = '191212121212' AND p.drug_name = 'Waran'""",
    )
    assert len(rows) == 14
    assert {r[1] for r in rows} == {"SE2120000142-SK01"}
    assert [r[0] for r in rows].count("not_given") == 1
