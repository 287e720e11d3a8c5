"""The header every written clinical row carries (DOMAIN.md section 1), from the input and the
principal: document id, source system, author time, accountable professional, unit, provider.

`resolve_header` also fixes the order of checks for every clinical mutation: first the formats
(no patient data touched), then the write policy, then the references into the patient's record,
so nobody learns anything about a record they may not write to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.context import Context
from app.identifiers import validate_hsa_id
from resolvers.mutations.checks import Checks, now
from resolvers.mutations.outcome import Code
from resolvers.mutations.policy import ensure_may_write
from resolvers.mutations.references import (
    Unit,
    birth_date_of,
    global_id,
    ones,
    patient_row,
    practitioner_key,
    practitioner_of,
    unit_keys,
    unit_of,
)
from resolvers.tables import CARE_CONTACT, PATIENT, PRACTITIONER

# vardkedja's own source-system id, for rows written through the API without one.
OWN_SOURCE_SYSTEM = "SE0000000000-vardkedja"
DOCUMENT_ID_LENGTH = 64


def new_document_id() -> str:
    return f"vk-{uuid.uuid4().hex}"


@dataclass(frozen=True, kw_only=True)
class RecordInput:
    """What every clinical write says about its row besides the content."""

    patient_id: str
    care_unit_hsa_id: str | None = None
    care_provider_hsa_id: str | None = None
    care_contact_id: str | None = None
    document_id: str | None = None
    source_system_hsa_id: str | None = None
    accountable_hsa_id: str | None = None
    approved_for_patient: bool = True
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Header:
    patient_id: uuid.UUID
    unit: Unit
    birth_date: date | None
    values: dict[str, Any]

    def row(self, event_time: datetime, **own: Any) -> dict[str, Any]:
        """The values of a new row: header, event time, and the row's own columns."""
        return self.values | {"event_time": event_time} | own


async def resolve_header(
    ctx: Context,
    checks: Checks,
    record: RecordInput,
    *,
    event_time: datetime | None,
    event_field: str,
    table: str | None = None,
) -> Header:
    """Check and resolve the header; raises Rejected (or Forbidden) when it cannot be written.

    Problems the mutation collected before calling this are raised together with the header's
    own format problems. `table` is what is written (the write policy treats a pharmacy's
    dispensations apart from every other record).
    """
    patient = global_id(checks, "input.patientId", record.patient_id, "Patient")
    contact = global_id(
        checks, "input.careContactId", record.care_contact_id, "CareContact", required=False
    )
    document_id = checks.text(
        "input.documentId", record.document_id, limit=DOCUMENT_ID_LENGTH, required=False
    )
    source = checks.identifier(
        "input.sourceSystemHsaId", validate_hsa_id, record.source_system_hsa_id, required=False
    )
    keys = unit_keys(ctx, checks, record.care_unit_hsa_id, record.care_provider_hsa_id)
    who_hsa = practitioner_key(ctx, checks, record.accountable_hsa_id)
    # Unit, provider, accountable and patient in one statement, which for a clinician is the
    # policy's facts statement on the patient too (the decision ensure_may_write asks for).
    # The patient's row is read here but only looked at once the write policy allowed the
    # write (below).
    lookups = [
        *(keys.lookups() if keys is not None else [None, None]),
        (PRACTITIONER, {"hsa_id": who_hsa}) if who_hsa is not None else None,
        (PATIENT, {"id": patient.id}) if patient is not None else None,
    ]
    deciding = len(lookups) - 1 if patient is not None else None  # the patient's lookup
    unit_row, provider_row, who_row, patient_found = await ones(ctx, lookups, deciding=deciding)
    unit = unit_of(checks, keys, unit_row, provider_row) if keys is not None else None
    who = practitioner_of(ctx, who_hsa, who_row) if who_hsa is not None else None
    checks.done()
    assert patient is not None and unit is not None
    await ensure_may_write(ctx, patient.id, unit.id, table)

    born = birth_date_of(checks, "input.patientId", patient_found)
    contact_row = await patient_row(
        ctx, checks, "input.careContactId", CARE_CONTACT, contact, patient.id
    )
    if contact_row is not None and contact_row["nullified"]:
        checks.add("input.careContactId", Code.INVALID_STATE, "the care contact is nullified")
    if born is not None and event_time is not None:
        checks.order(
            event_field, born, event_time.date(), f"{event_field} is before the patient was born"
        )
    values = {
        "patient_id": patient.id,
        "document_id": document_id or new_document_id(),
        "source_system_hsa_id": source or OWN_SOURCE_SYSTEM,
        "author_time": now(),
        "care_provider_id": unit.care_provider_id,
        "care_unit_id": unit.id,
        "accountable_practitioner_id": who.id if who else None,
        "accountable_hsa_id": who.hsa_id if who else None,
        "accountable_name": who.name if who else None,
        "accountable_role_code": who.role_code if who else None,
        "approved_for_patient": record.approved_for_patient,
        "care_contact_id": contact.id if contact_row is not None and contact else None,
    }
    return Header(patient.id, unit, born, values)
