"""Root types and the Schema object with its limits."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema import queries
from schema.changes import ChangesQuery
from schema.fhir import FhirQuery
from schema.limits import LIMIT_EXTENSIONS
from schema.mutation import Mutation
from schema.privacy import PrivacyQuery
from schema.registry import TYPES
from schema.research_view import research_answers
from schema.scalars import SCALAR_MAP
from schema.settle import settle_statements
from schema.study import StudyQuery
from schema.subscriptions import Subscription
from schema.webhooks import WebhookQuery


@strawberry.type(description="Read the care chain: patients and everything recorded about them.")
class Query(PrivacyQuery, FhirQuery, StudyQuery, ChangesQuery, WebhookQuery):
    patient = strawberry.field(
        resolver=queries.patient,
        description="One patient, by personnummer/samordningsnummer or by global id (give "
        "exactly one); null if not found or not visible to the caller. Research clients may "
        "not look anyone up by personnummer (FORBIDDEN).",
    )
    patients = strawberry.field(
        resolver=queries.patients,
        description="Search patients, ordered by family name, given name; only patients the "
        "caller may see. Research clients may not filter (FORBIDDEN): they count their "
        "cohort without one.",
    )
    node = strawberry.field(
        resolver=queries.node,
        description="Any object by its global id (Relay); null if not found or not visible.",
    )
    care_provider = strawberry.field(
        resolver=queries.care_provider,
        description="A care provider by HSA-id or global id (give exactly one).",
    )
    care_unit = strawberry.field(
        resolver=queries.care_unit,
        description="A care unit by HSA-id or global id (give exactly one).",
    )
    practitioner = strawberry.field(
        resolver=queries.practitioner,
        description="A practitioner by HSA-id or global id (give exactly one). Research "
        "clients may look one up by HSA-id only if their studies' approvals release "
        "clinicians' identities.",
    )


class VardkedjaSchema(strawberry.Schema):
    """The schema, with error logging left to app.errors.format_error."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Internal errors are logged once, with their traceback, when they are masked; expected
        # errors (bad input, validation, access) are answers to the client, not incidents.
        return None


schema = VardkedjaSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    # Types only reachable through interfaces (Node, CareEvent) must be named.
    types=list(TYPES.values()),
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
    # Factories: a fresh extension per request; the caches are module-level and shared. The
    # limits (schema/limits.py) parse, measure and then validate each document (all cached).
    extensions=[settle_statements, research_answers, *LIMIT_EXTENSIONS],
)
