"""Workload 2: a population list: 50 patients, each with the last 5 care contacts and diagnoses.

Which 50: the first page of the patients the clinician can find, in the list's own order
(family name, given name, id). The PostGraphile document and the floor's SQL ask for the same
page of the same patients (bench/workloads/postgraphile/PopulationList.graphql).
"""

from __future__ import annotations

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
    'careContacts', (SELECT coalesce(json_agg(c), '[]') FROM (
        SELECT id, event_time, contact_type, status FROM care_contact
        WHERE patient_id = p.id AND NOT nullified
        ORDER BY event_time DESC, id DESC LIMIT {ITEMS}) c),
    'diagnoses', (SELECT coalesce(json_agg(d), '[]') FROM (
        SELECT id, event_time, code, display FROM diagnosis
        WHERE patient_id = p.id AND NOT nullified
        ORDER BY event_time DESC, id DESC LIMIT {ITEMS}) d)
  ) ORDER BY p.family_name, p.given_name, p.id), '[]')
FROM (SELECT * FROM patient ORDER BY family_name, given_name, id LIMIT {PAGE}) p
"""


def _contact(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": plain_id(str(r.get("id") or r.get("rowId"))),
        "eventTime": utc_iso(r.get("event_time") or r.get("eventTime")),
        "contactType": str(r.get("contact_type") or r.get("contactType")).lower(),
        "status": str(r["status"]).lower(),
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
        return {
            "query": document("vardkedja", "PopulationList"),
            "operationName": "PopulationList",
            "variables": {"first": PAGE, "items": ITEMS},
        }

    def postgraphile_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        return {
            "query": document("postgraphile", "PopulationList"),
            "operationName": "PopulationList",
            "variables": {"first": PAGE, "items": ITEMS},
        }

    async def floor(self, conn: asyncpg.Connection, fx: Fixture, i: int) -> Any:
        return orjson.loads(await conn.fetchval(FLOOR_SQL))

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
                    **e["node"],
                    "careContacts": [c["node"] for c in e["node"]["careContacts"]["edges"]],
                    "diagnoses": [d["node"] for d in e["node"]["diagnoses"]["edges"]],
                }
                for e in answer["patients"]["edges"]
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
