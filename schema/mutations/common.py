"""What every mutation shares: UserError, the header input fields, the payload base, and the
conversion of a GraphQL input into the resolver's command."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any, TypeVar

import strawberry

from app.context import Context
from resolvers.mutations.outcome import Code, Outcome

T = TypeVar("T")
Info = strawberry.Info[Context, None]
V = strawberry.enum_value


@strawberry.enum(description="Why a mutation was refused. Stable: clients may branch on it.")
class UserErrorCode(Enum):
    INVALID_IDENTIFIER = V(
        "INVALID_IDENTIFIER",
        description="An identifier is malformed: personnummer, HSA-id, NPL-id, global id... "
        "The message names the rule (format, length, date, century, luhn...).",
    )
    INVALID_CODE = V(
        "INVALID_CODE",
        description="A code is malformed or unknown in its code system or code table "
        "(ICD-10-SE, ATC, KVÅ, TLV, FDI, NPU/LOINC, legal basis, insats, municipality).",
    )
    INVALID_VALUE = V(
        "INVALID_VALUE",
        description="A value is missing, empty, too long, out of range, or does not fit the "
        "other values.",
    )
    INVALID_DATE_ORDER = V(
        "INVALID_DATE_ORDER",
        description="Dates or times are in the wrong order, or in the future where only the "
        "past makes sense.",
    )
    NOT_FOUND = V(
        "NOT_FOUND",
        description="A referenced object does not exist, or the caller may not see it.",
    )
    INVALID_REFERENCE = V(
        "INVALID_REFERENCE",
        description="A referenced object exists but does not fit: another patient's, another "
        "type, a unit of another provider, not a pharmacy.",
    )
    INVALID_STATE = V(
        "INVALID_STATE",
        description="The object's state forbids this: a prescription that is not active or "
        "used up, a row already nullified.",
    )
    CONFLICT = V(
        "CONFLICT",
        description="The object changed since it was read (stale version), or an idempotency "
        "key was used for another operation or input.",
    )
    WARNING_NOT_ACKNOWLEDGED = V(
        "WARNING_NOT_ACKNOWLEDGED",
        description="A clinical warning (e.g. a recorded hypersensitivity to the drug's class) "
        "was not acknowledged in acknowledgeWarnings; the payload's `warnings` name it.",
    )
    DUPLICATE = V(
        "DUPLICATE",
        description="It exists already: a patient with this identifier, a document id of "
        "this source system.",
    )


@strawberry.type(description="An expected reason a mutation was refused; nothing was written.")
class UserError:
    field: str | None = strawberry.field(
        description="Path of the input that caused it, e.g. input.personnummer; null when it "
        "concerns the whole input."
    )
    code: UserErrorCode = strawberry.field(description="Stable machine-readable reason.")
    message: str = strawberry.field(description="Explanation for people (English).")


@strawberry.type(description="Fields every mutation payload has.")
class Payload:
    user_errors: list[UserError] = strawberry.field(
        description="Why the mutation was refused; empty when it succeeded."
    )
    replayed: bool = strawberry.field(
        description="True when this is the stored result of an earlier request with the same "
        "idempotency key (nothing was written this time)."
    )


def payload_fields(outcome: Outcome) -> dict[str, Any]:
    """The Payload fields of an outcome."""
    return {
        "user_errors": [
            UserError(field=p.field, code=UserErrorCode(p.code.value), message=p.message)
            for p in outcome.problems
        ],
        "replayed": outcome.replayed,
    }


IDEMPOTENCY_DESCRIPTION = (
    "Optional key (1-100 characters) that makes a retry safe: the first successful result "
    "is stored, and a retry with the same key by the same caller returns it instead of "
    "writing again. The same key with another operation or input is a CONFLICT."
)


@strawberry.input(description="Fields shared by every mutation input (not used directly).")
class KeyedInput:
    idempotency_key: str | None = strawberry.field(
        default=None, description=IDEMPOTENCY_DESCRIPTION
    )


@strawberry.input(description="The record header of a new clinical row (not used directly).")
class RecordFields(KeyedInput):
    patient_id: strawberry.ID = strawberry.field(description="Global id of the patient.")
    care_unit_hsa_id: str | None = strawberry.field(
        default=None,
        description="HSA-id of the care unit responsible for the row; default: the signed-in "
        "clinician's unit.",
    )
    care_provider_hsa_id: str | None = strawberry.field(
        default=None,
        description="HSA-id of the care provider; checked against the unit when given.",
    )
    care_contact_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the patient's care contact this belongs to."
    )
    document_id: str | None = strawberry.field(
        default=None,
        description="Id in the source system (at most 64 characters, unique per source "
        "system and patient); generated when not given.",
    )
    source_system_hsa_id: str | None = strawberry.field(
        default=None,
        description="HSA-id of the source system; default: vardkedja's own.",
    )
    accountable_hsa_id: str | None = strawberry.field(
        default=None,
        description="System integrations: HSA-id of the accountable professional. A signed-in "
        "clinician is always the accountable one.",
    )
    approved_for_patient: bool = strawberry.field(
        default=True, description="Whether the patient may see it in the patient app."
    )


def command(source: object, cls: type[T], **extra: Any) -> T:
    """The resolver command `cls` from a GraphQL input with the same field names."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in extra:
            continue
        value = getattr(source, field.name)
        values[field.name] = value.value if isinstance(value, Enum) else value
    return cls(**values, **extra)


def code_names() -> set[str]:
    """Codes of the resolvers and of the GraphQL enum; a test keeps them equal."""
    return {c.value for c in Code}
