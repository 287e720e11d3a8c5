"""The Relay `Node` interface: every entity has a global id that `node(id:)` resolves."""

from __future__ import annotations

import uuid

import strawberry

from schema.fields import field
from schema.ids import encode_id
from schema.rows import FromRow


@strawberry.interface(
    description="An object with a global id (Relay Global Object Identification): pass the id "
    "to `node(id:)` to fetch the object again."
)
class Node(FromRow):
    pk: strawberry.Private[uuid.UUID]

    @field(
        description="Globally unique, opaque id of this object. Stable: store it, pass it to "
        "`node(id:)`, never parse it."
    )
    def id(self) -> strawberry.ID:
        return strawberry.ID(encode_id(type(self).__name__, self.pk, self.owner()))

    def owner(self) -> uuid.UUID | None:
        """The patient the row belongs to (part of its key), None for shared rows."""
        return None
