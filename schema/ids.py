"""Relay global ids. Patient-scoped rows carry their patient in the id ("Type:patient:id"), so
`node(id:)` finds a row by its full primary key (patient_id, id) and the policy can decide on the
patient before any clinical row is read. Reference rows (providers, units) are "Type:id"."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass

from app.errors import BadInput


@dataclass(frozen=True)
class GlobalId:
    type_name: str
    id: uuid.UUID
    patient_id: uuid.UUID | None = None


def encode_id(type_name: str, row_id: uuid.UUID, patient_id: uuid.UUID | None = None) -> str:
    raw = f"{type_name}:{patient_id}:{row_id}" if patient_id else f"{type_name}:{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_id(value: str, *, field: str = "id") -> GlobalId:
    """Parse a global id; a malformed one is a BAD_USER_INPUT error naming the field."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        parts = raw.split(":")
        if len(parts) == 2:
            return GlobalId(parts[0], uuid.UUID(parts[1]))
        if len(parts) == 3:
            return GlobalId(parts[0], uuid.UUID(parts[2]), uuid.UUID(parts[1]))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadInput(f"{field}: not a valid global id", field=field, rule="global_id")
