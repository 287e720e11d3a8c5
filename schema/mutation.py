"""The root Mutation type. Owned by the mutations work; each domain adds its fields here."""

from __future__ import annotations

import strawberry


@strawberry.type(description="Write to the care chain; each mutation is one transaction.")
class Mutation:
    @strawberry.mutation(description="Placeholder until the first mutation lands; returns true.")
    def ping(self) -> bool:
        return True
