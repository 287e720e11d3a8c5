"""nullify (makulera)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.mutations import nullify as nullify_
from schema.events import CareEvent
from schema.mutations.common import Info, KeyedInput, Payload, command, payload_fields


@strawberry.input(
    description="Nullify (makulera) a clinical row recorded in error. It is never deleted: "
    "normal reads hide it, `includeNullified` and `node(id:)` still show it with the reason."
)
class NullifyInput(KeyedInput):
    id: strawberry.ID = strawberry.field(description="Global id of the clinical row.")
    version: int = strawberry.field(
        description="The version you read; if it changed since, the result is a CONFLICT."
    )
    reason: str = strawberry.field(description="Why it is nullified (at most 500 characters).")


@strawberry.type(description="The result of nullify.")
class NullifyPayload(Payload):
    record: CareEvent | None = strawberry.field(
        description="The row, now nullified; null when refused."
    )


async def nullify(
    info: Info,
    input: Annotated[NullifyInput, strawberry.argument(description="What to nullify, and why.")],
) -> NullifyPayload | None:
    from schema.registry import EVENT_TYPES

    outcome = await nullify_.nullify(info.context, command(input, nullify_.Nullify))
    row, ref = outcome.row("record"), outcome.refs.get("record")
    record = EVENT_TYPES[ref.type_name][0].from_row(row) if row is not None and ref else None
    return NullifyPayload(record=record, **payload_fields(outcome))
