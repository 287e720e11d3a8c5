"""Scalars whose built-in Strawberry definitions carry no description."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.types.scalar import ScalarDefinition

SCALAR_MAP: dict[object, ScalarDefinition] = {
    uuid.UUID: strawberry.scalar(
        name="UUID",
        description="A UUID in canonical text form, e.g. 3f2c1a9e-5b7d-4e21-9c0a-8d6f4b2e1c70.",
        serialize=str,
        parse_value=uuid.UUID,
    )
}
