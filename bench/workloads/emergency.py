"""Workload 1: the emergency care situation for one patient (the shipped EmergencyOverview).

The canonical answer: the patient's demographics, and per list the rows in the operation's order
with the fields the operation asks for. The PostGraphile document and the floor's SQL ask for
exactly these lists, orders and page sizes (see bench/workloads/postgraphile/).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import orjson

from bench.fixture import Fixture
from bench.workloads.base import Workload, document, plain_id, utc_iso

# (list, table, page size or None for all, extra SQL condition), newest first.
LISTS = (
    ("alerts", "alert", None, ""),
    ("prescriptions", "prescription", None, "AND status = 'aktiv'"),
    ("diagnoses", "diagnosis", 10, ""),
    ("careContacts", "care_contact", 5, ""),
)


def _list_sql(name: str, table: str, limit: int | None, extra: str, cols: str) -> str:
    page = f"LIMIT {limit}" if limit else ""
    return (
        f"'{name}', (SELECT coalesce(json_agg(x), '[]') FROM (SELECT {cols} FROM {table} "
        f"WHERE patient_id = $1 AND NOT nullified {extra} "
        f"ORDER BY event_time DESC, id DESC {page}) x)"
    )


COLUMNS = {
    "alerts": "id, event_time, alert_type, description, severity",
    "prescriptions": "id, event_time, drug_name, atc_code, dosage_text",
    "diagnoses": "id, event_time, code, display",
    "careContacts": "id, event_time, contact_type, status",
}

FLOOR_SQL = (
    "SELECT json_build_object('patient', (SELECT json_build_object('id', id, "
    "'personnummer', identifier, 'givenName', given_name, 'familyName', family_name, "
    "'birthDate', birth_date) FROM patient WHERE id = $1), "
    + ", ".join(_list_sql(n, t, lim, extra, COLUMNS[n]) for n, t, lim, extra in LISTS)
    + ")"
)


def _row(name: str, r: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": plain_id(str(r.get("id") or r.get("rowId"))),
        "eventTime": utc_iso(r.get("event_time") or r.get("eventTime")),
    }
    for col in COLUMNS[name].split(", ")[2:]:
        camel = "".join(w.capitalize() if k else w for k, w in enumerate(col.split("_")))
        value = r.get(col, r.get(camel))
        out[camel] = value.lower() if isinstance(value, str) and value.isupper() else value
    return out


class Emergency(Workload):
    name = "emergency"
    title = "emergency care situation, one patient"

    def ours_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        return {
            "operationName": "EmergencyOverview",
            "variables": {"personnummer": fx.patient(i).personnummer},
        }

    def postgraphile_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        return {
            "query": document("postgraphile", "EmergencyOverview"),
            "operationName": "EmergencyOverview",
            "variables": {"id": fx.patient(i).id},
        }

    async def floor(self, conn: asyncpg.Connection, fx: Fixture, i: int) -> Any:
        raw = await conn.fetchval(FLOOR_SQL, uuid.UUID(fx.patient(i).id))
        return orjson.loads(raw)

    def canonical(self, system: str, answer: Any) -> Any:
        if system == "floor":
            p = answer["patient"]
            lists = {name: answer[name] for name, *_ in LISTS}
        elif system == "postgraphile":
            p = answer["patientByRowId"]
            lists = {name: p[f"{name}ByPatientId"]["nodes"] for name, *_ in LISTS}
            p = {**p, "id": p["rowId"], "personnummer": p["identifier"]}
        else:
            p = answer["patient"]
            lists = {name: [e["node"] for e in p[name]["edges"]] for name, *_ in LISTS}
        return {
            "patient": {
                "id": plain_id(str(p["id"])),
                "personnummer": p["personnummer"],
                "givenName": p["givenName"],
                "familyName": p["familyName"],
                "birthDate": p["birthDate"],
            },
            **{name: [_row(name, r) for r in rows] for name, rows in lists.items()},
        }
