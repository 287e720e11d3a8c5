"""The Relay `Node` interface: every entity has a global id that `node(id:)` resolves."""

from __future__ import annotations

import uuid

import strawberry

from schema.rows import FromRow


@strawberry.interface(
    description="An object with a global id (Relay Global Object Identification): pass the id "
    "to `node(id:)` to fetch the object again."
)
class Node(FromRow):
    pk: strawberry.Private[uuid.UUID]
    # Set by from_row (encode_id of the type name, the patient for patient rows, the key).
    id: strawberry.ID = strawberry.field(
        description="Globally unique, opaque id of this object. Stable: store it, pass it to "
        "`node(id:)`, never parse it."
    )
