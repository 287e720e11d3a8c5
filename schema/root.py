"""Root types and the Schema object with its limits."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from resolvers import patients as patient_resolvers
from schema.limits import LIMIT_EXTENSIONS
from schema.mutation import Mutation
from schema.patients import Patient


@strawberry.type(description="Read the care chain: patients and everything recorded about them.")
class Query:
    patient: Patient | None = strawberry.field(
        resolver=patient_resolvers.patient,
        description="One patient by personnummer or samordningsnummer; null if not found or "
        "not visible to the caller.",
    )


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    # Factories: a fresh extension per request; the caches are module-level and shared.
    extensions=[
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        *LIMIT_EXTENSIONS,
    ],
)
