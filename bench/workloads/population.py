"""Workload 2: a population list: 50 patients, each with the last 5 care contacts and diagnoses.

Which 50: the first page of the patients the clinician can find (vardkedja's search scope: a
current care relationship with the clinician's unit), in the list's own order (family name,
given name, id). The PostGraphile document and the floor's SQL ask for the same page of the
same patients (bench/workloads/postgraphile/PopulationList.graphql).

Contacts and diagnoses are those recorded by the clinician's own care provider: records of other
providers are visible only with the patient's consent (A4), so without this narrowing the
policy would rightly hide rows that PostGraphile and the floor return, and the three systems
would not answer with the same data. The policy still decides on every patient and row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from bench.fixture import Fixture
from bench.workloads.base import Workload, document, plain_id, utc_iso

PAGE = 50
ITEMS = 5

FLOOR_SQL = f"""
SELECT coalesce(json_agg(json_build_object(
    'id', p.id, 'personnummer', p.identifier, 'givenName', p.given_name,
    'familyName', p.family_name,
    'careContacts', (SELECT coalesce(json_agg(c ORDER BY c.event_time DESC, c.id DESC), '[]') FROM (
        SELECT cc.id, cc.event_time, cc.contact_type, cc.status, u.name AS unit
        FROM care_contact cc JOIN care_unit u ON u.id = cc.care_unit_id
        WHERE cc.patient_id = p.id AND NOT cc.nullified AND cc.care_provider_id = $2
        ORDER BY cc.event_time DESC, cc.id DESC LIMIT {ITEMS}) c),
    'diagnoses', (SELECT coalesce(json_agg(d ORDER BY d.event_time DESC, d.id DESC), '[]') FROM (
        SELECT id, event_time, code, display FROM diagnosis
        WHERE patient_id = p.id AND NOT nullified AND care_provider_id = $2
        ORDER BY event_time DESC, id DESC LIMIT {ITEMS}) d)
  ) ORDER BY p.family_name, p.given_name, p.id), '[]')
FROM (
    SELECT * FROM patient pt
    WHERE EXISTS (
        SELECT 1 FROM care_relationship r
        WHERE r.patient_id = pt.id AND r.care_unit_id = $1
          AND r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now()))
    ORDER BY family_name, given_name, id LIMIT {PAGE}) p
"""


def _contact(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": plain_id(str(r.get("id") or r.get("rowId"))),
        "eventTime": utc_iso(r.get("event_time") or r.get("eventTime")),
        "contactType": str(r.get("contact_type") or r.get("contactType")).lower(),
        "status": str(r["status"]).lower(),
        "unit": r["unit"]
        if "unit" in r
        else (r.get("careUnit") or r["careUnitByCareUnitId"])["name"],
    }


def _diagnosis(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": plain_id(str(r.get("id") or r.get("rowId"))),
        "eventTime": utc_iso(r.get("event_time") or r.get("eventTime")),
        "code": r["code"],
        "display": r["display"],
    }


class Population(Workload):
    name = "population"
    title = "50 patients, last 5 care contacts and diagnoses each"

    def ours_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        # The shipped persisted operation (schema/operations/PopulationList.graphql), by name.
        return {
            "operationName": "PopulationList",
            "variables": {
                "first": PAGE,
                "items": ITEMS,
                "provider": fx.clinician["care_provider"],
            },
        }

    def postgraphile_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        return {
            "query": document("postgraphile", "PopulationList"),
            "operationName": "PopulationList",
            "variables": {
                "first": PAGE,
                "items": ITEMS,
                "unit": fx.writer.care_unit_id,
                "provider": fx.writer.care_provider_id,
                "now": datetime.now(UTC).isoformat(),
            },
        }

    async def floor(self, conn: asyncpg.Connection, fx: Fixture, i: int) -> Any:
        unit, provider = uuid.UUID(fx.writer.care_unit_id), uuid.UUID(fx.writer.care_provider_id)
        return orjson.loads(await conn.fetchval(FLOOR_SQL, unit, provider))

    def canonical(self, system: str, answer: Any) -> Any:
        if system == "floor":
            patients = [
                {**p, "careContacts": p["careContacts"], "diagnoses": p["diagnoses"]}
                for p in answer
            ]
        elif system == "postgraphile":
            patients = [
                {
                    **p,
                    "id": p["rowId"],
                    "personnummer": p["identifier"],
                    "careContacts": p["careContactsByPatientId"]["nodes"],
                    "diagnoses": p["diagnosesByPatientId"]["nodes"],
                }
                for p in answer["allPatients"]["nodes"]
            ]
        else:
            patients = [
                {
                    **p,
                    "careContacts": p["careContacts"]["nodes"],
                    "diagnoses": p["diagnoses"]["nodes"],
                }
                for p in answer["patients"]["nodes"]
            ]
        return [
            {
                "id": plain_id(str(p["id"])),
                "personnummer": p["personnummer"],
                "givenName": p["givenName"],
                "familyName": p["familyName"],
                "careContacts": [_contact(c) for c in p["careContacts"]],
                "diagnoses": [_diagnosis(d) for d in p["diagnoses"]],
            }
            for p in patients
        ]
