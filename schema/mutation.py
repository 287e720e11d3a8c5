"""The root Mutation type. Owned by the mutations work; each domain adds its fields here."""

from __future__ import annotations

import strawberry


def _ping() -> bool:
    return True


@strawberry.type(description="Write to the care chain; each mutation is one transaction.")
class Mutation:
    ping: bool = strawberry.mutation(
        resolver=_ping, description="Placeholder until the first mutation lands; returns true."
    )
