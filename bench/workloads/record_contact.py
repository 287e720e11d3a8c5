"""Workload 3: record one care contact for a patient (a write).

Every system inserts one care_contact row for the i-th write patient (patients of the unit that
no read workload shows, see bench/fixture.py), at the clinician's unit,
and answers with the new contact. The document ids start with the run's prefix, so the runner
can delete what the benchmark wrote. vardkedja additionally checks the policy, validates the
input, and writes the audit entry in the same transaction; PostGraphile and the floor do not.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.fixture import Fixture
from bench.workloads.base import OURS, Workload, document

# Two days ago at midnight: in the past, and after the birth of every seeded patient.
BASE_TIME = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(2)

INSERT = """
INSERT INTO care_contact (
    patient_id, id, created_at, updated_at, version, document_id, source_system_hsa_id,
    event_time, author_time, care_provider_id, care_unit_id, accountable_practitioner_id,
    accountable_hsa_id, accountable_name, approved_for_patient, nullified,
    contact_type, status, reason)
VALUES ($1, $2, now(), now(), 1, $3, $4, $5, now(), $6, $7, $8, $9, $10, true, false,
        'besok', 'avslutad', $11)
RETURNING patient_id, id, event_time, contact_type, status, reason
"""


def event_time(i: int) -> datetime:
    """A time within the day after BASE_TIME; document ids, not times, keep writes apart."""
    return BASE_TIME + timedelta(seconds=i % 86_400)


class RecordContact(Workload):
    name = "record_contact"
    title = "record a care contact"
    writes = True

    def ours_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        from schema.ids import encode_id

        p = fx.write_patient(i)
        return {
            "query": document("vardkedja", "RecordCareContact"),
            "operationName": "RecordCareContact",
            "variables": {
                "input": {
                    "patientId": encode_id("Patient", uuid.UUID(p.id)),
                    "contactType": "BESOK",
                    "status": "AVSLUTAD",
                    "periodStart": event_time(i).isoformat(),
                    "reason": "Uppföljning (bench)",
                    "documentId": f"{fx.write_prefix}v-{i}",
                }
            },
        }

    def success_marker(self, system: str) -> bytes | None:
        return b'"userErrors":[]' if system in OURS else None

    def postgraphile_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        p, w = fx.write_patient(i), fx.writer
        now = datetime.now(UTC).isoformat()
        return {
            "query": document("postgraphile", "RecordCareContact"),
            "operationName": "RecordCareContact",
            "variables": {
                "contact": {
                    "patientId": p.id,
                    "rowId": str(uuid.uuid4()),
                    "createdAt": now,
                    "updatedAt": now,
                    "version": 1,
                    "documentId": f"{fx.write_prefix}p-{i}",
                    "sourceSystemHsaId": w.care_unit_hsa_id,
                    "eventTime": event_time(i).isoformat(),
                    "authorTime": now,
                    "careProviderId": w.care_provider_id,
                    "careUnitId": w.care_unit_id,
                    "accountablePractitionerId": w.practitioner_id,
                    "accountableHsaId": w.practitioner_hsa_id,
                    "accountableName": w.practitioner_name,
                    "approvedForPatient": True,
                    "nullified": False,
                    "contactType": "besok",
                    "status": "avslutad",
                    "reason": "Uppföljning (bench)",
                }
            },
        }

    async def floor(self, conn: asyncpg.Connection, fx: Fixture, i: int) -> Any:
        p, w = fx.write_patient(i), fx.writer
        return await conn.fetchrow(
            INSERT,
            uuid.UUID(p.id),
            uuid.uuid4(),
            f"{fx.write_prefix}f-{i}",
            w.care_unit_hsa_id,
            event_time(i),
            uuid.UUID(w.care_provider_id),
            uuid.UUID(w.care_unit_id),
            uuid.UUID(w.practitioner_id) if w.practitioner_id else None,
            w.practitioner_hsa_id,
            w.practitioner_name,
            "Uppföljning (bench)",
        )

    def canonical(self, system: str, answer: Any) -> Any:
        return None  # writes are checked by reading the rows back (bench.equivalence)
