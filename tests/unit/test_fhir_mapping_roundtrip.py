"""Every mapping: row -> FHIR JSON -> validated by fhir.resources (R4) -> the same row."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables)
from app.fhir.mapping import municipal
from app.fhir.mapping.registry import KINDS, kind_of, kind_of_row
from app.fhir.r4 import dumps, loads, validate
from tests.fixtures.fhir.rows import ACTIVITIES, SAMPLES, DictResolver, bare_header, nullified

TABLES = SQLModel.metadata.tables
CLINICAL = [t for t, row in SAMPLES.items() if "document_id" in row]


def round_trip(table: str, row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    kind = kind_of_row(table, row)
    data = loads(dumps(kind.to_fhir(row, None)))
    assert kind_of(data) == kind, "an exported resource must find its way back to its table"
    resource = validate(data)
    back = kind.from_fhir(resource, DictResolver(current=row.get("id")))
    return data, back


@pytest.mark.parametrize("table", list(SAMPLES))
def test_every_column_survives(table: str) -> None:
    row = SAMPLES[table]
    assert set(row) == set(TABLES[table].c.keys()), "sample must fill every column"
    data, back = round_trip(table, row)
    assert back == row
    assert data["resourceType"] == kind_of_row(table, row).resource_type


@pytest.mark.parametrize("table", CLINICAL)
def test_nullified_rows_are_entered_in_error(table: str) -> None:
    row = nullified(SAMPLES[table])
    data, back = round_trip(table, row)
    assert back == row
    status = data.get("status") or data["verificationStatus"]["coding"][0]["code"]
    assert status == "entered-in-error"


@pytest.mark.parametrize("table", CLINICAL)
def test_optional_header_columns_may_be_empty(table: str) -> None:
    row = bare_header(SAMPLES[table])
    assert round_trip(table, row)[1] == row


def test_alert_other_than_hypersensitivity_is_a_flag() -> None:
    row = SAMPLES["alert"] | {"alert_type": "serious_disease", "severity": None}
    data, back = round_trip("alert", row)
    assert data["resourceType"] == "Flag"
    assert back == row


def test_every_table_has_a_mapping() -> None:
    # A patient's other identifiers are part of its Patient resource.
    mapped = {k.table for k in KINDS} | {"plan_activity", "patient_identifier", "fhir_preserved"}
    mapped |= {"sip_participant", "sip_goal", "sip_action"}  # parts of a SIP's CarePlan
    not_patient_data = {"audit_entry", "audit_cut", "idempotency_key", "legal_basis", "insats"}
    not_patient_data.add("audit_key_fingerprint")  # a fingerprint of the audit key
    # A10 exceptions are the unit head's access decisions, not part of the record: not in FHIR.
    not_patient_data.add("portal_access_exception")
    # The change log and webhooks hold ids of changed rows, never content (docs/changes.md).
    not_patient_data |= {"change_log", "change_log_horizon", "webhook", "webhook_delivery"}
    # Bulk $export jobs hold the export's own output, not records of their own.
    not_patient_data |= {"fhir_export_job", "fhir_export_file"}
    assert set(TABLES) - not_patient_data == mapped


def test_care_plan_carries_its_activities_in_order() -> None:
    plan = SAMPLES["implementation_plan"]
    data = loads(dumps(municipal.plan_to_fhir(plan, None, ACTIVITIES)))
    assert [a["detail"]["description"] for a in data["activity"]] == ["Aktivitet 1", "Aktivitet 2"]
    resource = validate(data)
    resolver = DictResolver()
    back = municipal.plan_from_fhir(resource, resolver)
    activities = municipal.activities_from_fhir(resource, resolver, back)
    assert sorted(activities, key=lambda a: a["position"]) == sorted(
        ACTIVITIES, key=lambda a: a["position"]
    )


def test_decimals_keep_every_digit() -> None:
    data = dumps(
        kind_of_row("lab_result", SAMPLES["lab_result"]).to_fhir(SAMPLES["lab_result"], None)
    )
    assert b'"value":123456789012.123456' in data
