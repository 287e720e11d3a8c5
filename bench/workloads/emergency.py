"""Workload 1: the emergency care situation of one patient (the shipped EmergencyOverview).

vardkedja runs its persisted operation by name (schema/operations/EmergencyOverview.graphql);
PostGraphile runs bench/workloads/postgraphile/EmergencyOverview.graphql; the floor runs one SQL
statement. All three return: demographics, alerts (50), active prescriptions (50), the last 10
care contacts each with its last 5 diagnoses, and the last 20 diagnoses, newest first, with
totals and unit names, nullified rows left out.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import orjson

from bench.fixture import Fixture
from bench.workloads.base import Workload, plain_id, utc_iso

NEWEST = "ORDER BY x.event_time DESC, x.id DESC"


def _listing(table: str, columns: str, limit: int, extra: str = "") -> str:
    """'total' and 'nodes' of one of the patient's lists, with the unit's name per row."""
    where = f"t.patient_id = $1 AND NOT t.nullified {extra}"
    return (
        f"json_build_object('total', (SELECT count(*) FROM {table} t WHERE {where}), "
        f"'nodes', (SELECT coalesce(json_agg(x {NEWEST}), '[]') FROM ("
        f"SELECT t.id, t.event_time, {columns}, u.name AS unit, u.hsa_id AS unit_hsa "
        f"FROM {table} t JOIN care_unit u ON u.id = t.care_unit_id WHERE {where} "
        f"ORDER BY t.event_time DESC, t.id DESC LIMIT {limit}) x))"
    )


CONTACT_DIAGNOSES = (
    "(SELECT coalesce(json_agg(x " + NEWEST + "), '[]') FROM ("
    "SELECT d.id, d.event_time, d.code, d.display, d.diagnosis_type FROM diagnosis d "
    "WHERE d.patient_id = $1 AND d.care_contact_id = t.id AND NOT d.nullified "
    "ORDER BY d.event_time DESC, d.id DESC LIMIT 5) x) AS diagnoses"
)

FLOOR_SQL = (
    "SELECT json_build_object("
    "'patient', (SELECT json_build_object('id', id, 'personnummer', identifier, "
    "'givenName', given_name, 'familyName', family_name, 'birthDate', birth_date, 'sex', sex, "
    "'protectedIdentity', protected_identity, 'deceasedOn', deceased_on) "
    "FROM patient WHERE id = $1), "
    "'alerts', "
    + _listing(
        "alert",
        "t.alert_type, t.description, t.severity, t.agent_atc_code, t.agent_text, "
        "t.condition_code, t.treatment_code, t.valid_from, t.valid_to",
        50,
    )
    + ", 'prescriptions', "
    + _listing(
        "prescription",
        "t.atc_code, t.drug_name, t.strength, t.form, t.dosage_text, t.valid_until, "
        "t.accountable_hsa_id, t.accountable_practitioner_id, t.accountable_name",
        50,
        "AND t.status = 'aktiv'",
    )
    + ", 'careContacts', "
    + _listing(
        "care_contact",
        "t.contact_type, t.status, t.reason, t.period_end, " + CONTACT_DIAGNOSES,
        10,
    )
    + ", 'diagnoses', "
    + _listing("diagnosis", "t.code, t.display, t.diagnosis_type", 20)
    + ")"
)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _get(row: dict[str, Any], *names: str) -> Any:
    """The first present of several spellings (snake_case SQL, camelCase GraphQL)."""
    for name in names:
        if name in row:
            return row[name]
    raise KeyError(names[0])


def _unit(row: dict[str, Any]) -> dict[str, Any]:
    if "unit" in row:
        return {"name": row["unit"], "hsaId": row.get("unit_hsa")}
    unit = row.get("careUnit") or row["careUnitByCareUnitId"]
    return {"name": unit["name"], "hsaId": unit.get("hsaId")}


def _accountable(row: dict[str, Any]) -> str | None:
    if "accountable" in row:
        return row["accountable"]["name"] if row["accountable"] else None
    hsa = _get(row, "accountable_hsa_id", "accountableHsaId")
    practitioner = _get(row, "accountable_practitioner_id", "accountablePractitionerId")
    if hsa is None and practitioner is None:
        return None
    name: str | None = _get(row, "accountable_name", "accountableName")
    return name


def _alert(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": plain_id(str(_get(r, "id", "rowId"))),
        "alertType": _lower(_get(r, "alert_type", "alertType")),
        "description": r["description"],
        "severity": _lower(r["severity"]),
        "agentAtcCode": _get(r, "agent_atc_code", "agentAtcCode"),
        "agentText": _get(r, "agent_text", "agentText"),
        "conditionCode": _get(r, "condition_code", "conditionCode"),
        "treatmentCode": _get(r, "treatment_code", "treatmentCode"),
        "validFrom": _get(r, "valid_from", "validFrom"),
        "validTo": _get(r, "valid_to", "validTo"),
        "unit": _unit(r)["name"],
    }


def _prescription(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": plain_id(str(_get(r, "id", "rowId"))),
        "atcCode": _get(r, "atc_code", "atcCode"),
        "drugName": _get(r, "drug_name", "drugName"),
        "strength": r["strength"],
        "form": r["form"],
        "dosageText": _get(r, "dosage_text", "dosageText"),
        "validUntil": _get(r, "valid_until", "validUntil"),
        "accountable": _accountable(r),
        "unit": _unit(r)["name"],
    }


def _diagnosis(r: dict[str, Any], full: bool = True) -> dict[str, Any]:
    out = {
        "code": r["code"],
        "display": r["display"],
        "diagnosisType": _lower(_get(r, "diagnosis_type", "diagnosisType")),
    }
    if full:
        out["id"] = plain_id(str(_get(r, "id", "rowId")))
        out["eventTime"] = utc_iso(_get(r, "event_time", "eventTime"))
        out["unit"] = _unit(r)["name"]
    return out


def _contact(r: dict[str, Any]) -> dict[str, Any]:
    diagnoses = r["diagnoses"] if "diagnoses" in r else r["diagnosesByPatientIdAndCareContactId"]
    if isinstance(diagnoses, dict):
        diagnoses = diagnoses["nodes"]
    return {
        "id": plain_id(str(_get(r, "id", "rowId"))),
        "contactType": _lower(_get(r, "contact_type", "contactType")),
        "status": _lower(r["status"]),
        "reason": r["reason"],
        "eventTime": utc_iso(_get(r, "event_time", "eventTime")),
        "periodEnd": utc_iso(_get(r, "period_end", "periodEnd")),
        "unit": _unit(r),
        "diagnoses": [_diagnosis(d, full=False) for d in diagnoses],
    }


LISTS = {
    "alerts": ("alertsByPatientId", _alert),
    "prescriptions": ("prescriptionsByPatientId", _prescription),
    "careContacts": ("careContactsByPatientId", _contact),
    "diagnoses": ("diagnosesByPatientId", _diagnosis),
}


class Emergency(Workload):
    name = "emergency"
    title = "emergency care situation, one patient"

    def ours_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        return {
            "operationName": "EmergencyOverview",
            "variables": {"personnummer": fx.patient(i).personnummer},
        }

    def postgraphile_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        from bench.workloads.base import document

        return {
            "query": document("postgraphile", "EmergencyOverview"),
            "operationName": "EmergencyOverview",
            "variables": {"id": fx.patient(i).id},
        }

    async def floor(self, conn: asyncpg.Connection, fx: Fixture, i: int) -> Any:
        return orjson.loads(await conn.fetchval(FLOOR_SQL, uuid.UUID(fx.patient(i).id)))

    def canonical(self, system: str, answer: Any) -> Any:
        if system == "floor":
            p = answer["patient"]
            lists = {name: answer[name] for name in LISTS}
        elif system == "postgraphile":
            p = answer["patientByRowId"]
            lists = {
                name: {"total": p[field]["totalCount"], "nodes": p[field]["nodes"]}
                for name, (field, _) in LISTS.items()
            }
            p = {**p, "id": p["rowId"], "personnummer": p["identifier"]}
        else:
            p = answer["patient"]
            lists = {
                name: {"total": p[name]["totalCount"], "nodes": p[name]["nodes"]} for name in LISTS
            }
        if p is None:
            return None
        return {
            "patient": {
                "id": plain_id(str(p["id"])),
                "personnummer": p["personnummer"],
                "givenName": p["givenName"],
                "familyName": p["familyName"],
                "birthDate": p["birthDate"],
                "sex": _lower(p["sex"]),
                "protectedIdentity": p["protectedIdentity"],
                "deceasedOn": p["deceasedOn"],
            },
            **{
                name: {"total": lst["total"], "nodes": [LISTS[name][1](r) for r in lst["nodes"]]}
                for name, lst in lists.items()
            },
        }
