"""recordCareContact, addDiagnosis, writeCareDocument."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers.mutations import care
from schema.care import CareContact, CareDocument, Diagnosis
from schema.enums import ContactStatus, ContactType, DiagnosisType
from schema.mutations.common import Info, Payload, RecordFields, command, payload_fields

TIME_HELP = "With a UTC offset, e.g. 2024-03-01T09:30:00+01:00"


@strawberry.input(description="A care contact (vårdkontakt) to record.")
class RecordCareContactInput(RecordFields):
    contact_type: ContactType = strawberry.field(description="Kind of contact.")
    status: ContactStatus = strawberry.field(description="Status of the contact.")
    reason: str | None = strawberry.field(
        default=None, description="Reason in the patient's words (at most 500 characters)."
    )
    period_start: datetime = strawberry.field(
        description=f"Start. {TIME_HELP}; in the future only for a planned or cancelled one."
    )
    period_end: datetime | None = strawberry.field(
        default=None, description="End, not before the start; none while ongoing or planned."
    )


@strawberry.type(description="The result of recordCareContact.")
class RecordCareContactPayload(Payload):
    care_contact: CareContact | None = strawberry.field(
        description="The contact recorded; null when refused."
    )


async def record_care_contact(
    info: Info,
    input: Annotated[RecordCareContactInput, strawberry.argument(description="The contact.")],
) -> RecordCareContactPayload | None:
    outcome = await care.record_care_contact(info.context, command(input, care.RecordCareContact))
    row = outcome.row("careContact")
    return RecordCareContactPayload(
        care_contact=CareContact.from_optional(row), **payload_fields(outcome)
    )


@strawberry.input(description="An ICD-10-SE diagnosis to add.")
class AddDiagnosisInput(RecordFields):
    code: str = strawberry.field(description="ICD-10-SE code, e.g. I21.9 (or I219).")
    display: str = strawberry.field(description="The diagnosis in words.")
    diagnosis_type: DiagnosisType = strawberry.field(description="Main or secondary.")
    diagnosed_at: datetime | None = strawberry.field(
        default=None, description=f"When it was set. {TIME_HELP}; default now."
    )


@strawberry.type(description="The result of addDiagnosis.")
class AddDiagnosisPayload(Payload):
    diagnosis: Diagnosis | None = strawberry.field(
        description="The diagnosis added; null when refused."
    )


async def add_diagnosis(
    info: Info,
    input: Annotated[AddDiagnosisInput, strawberry.argument(description="The diagnosis.")],
) -> AddDiagnosisPayload | None:
    outcome = await care.add_diagnosis(info.context, command(input, care.AddDiagnosis))
    return AddDiagnosisPayload(
        diagnosis=Diagnosis.from_optional(outcome.row("diagnosis")), **payload_fields(outcome)
    )


@strawberry.input(description="A note (journalanteckning) to write.")
class WriteCareDocumentInput(RecordFields):
    document_type: str = strawberry.field(description="Kind of note, e.g. besöksanteckning.")
    title: str = strawberry.field(description="Title (at most 200 characters).")
    text: str = strawberry.field(description="The note (at most 100,000 characters).")
    written_at: datetime | None = strawberry.field(
        default=None, description=f"Time of the note. {TIME_HELP}; default now."
    )
    sign: bool = strawberry.field(
        default=False, description="Sign it now as the signed-in clinician (vidimera)."
    )


@strawberry.type(description="The result of writeCareDocument.")
class WriteCareDocumentPayload(Payload):
    care_document: CareDocument | None = strawberry.field(
        description="The note written; null when refused."
    )


async def write_care_document(
    info: Info,
    input: Annotated[WriteCareDocumentInput, strawberry.argument(description="The note.")],
) -> WriteCareDocumentPayload | None:
    outcome = await care.write_care_document(info.context, command(input, care.WriteCareDocument))
    row = outcome.row("careDocument")
    return WriteCareDocumentPayload(
        care_document=CareDocument.from_optional(row), **payload_fields(outcome)
    )
