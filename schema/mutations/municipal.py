"""recordMunicipalDecision."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry

from resolvers.mutations import municipal
from schema.enums import DecisionOutcome
from schema.municipal import MunicipalDecision
from schema.mutations.common import Info, Payload, RecordFields, command, payload_fields


@strawberry.input(
    description="A SoL or LSS decision. The unit is the utförare; the legal basis must have "
    "been in force on the decision day and be of the insats's law."
)
class RecordMunicipalDecisionInput(RecordFields):
    legal_basis_code: str = strawberry.field(description="Code of the legal basis, e.g. LSS-9.")
    insats_code: str = strawberry.field(description="Code of the insats, e.g. SOL-HEMTJANST.")
    municipality_code: str = strawberry.field(description="Kommunkod of the deciding kommun.")
    applied_on: date = strawberry.field(description="Day of the application.")
    decided_on: date = strawberry.field(
        description="Day of the decision: not before the application, not in the future."
    )
    valid_from: date | None = strawberry.field(default=None, description="First day it applies.")
    valid_to: date | None = strawberry.field(
        default=None, description="Last day it applies, not before validFrom."
    )
    extent_amount: Decimal | None = strawberry.field(
        default=None, description="Extent, e.g. 12 (hours per week)."
    )
    extent_unit: str | None = strawberry.field(
        default=None, description="Unit of the extent, e.g. hours_per_week."
    )
    outcome: DecisionOutcome = strawberry.field(description="Granted, refused or partly.")
    case_officer_name: str = strawberry.field(description="Handläggare.")
    motivation: str | None = strawberry.field(default=None, description="Motivation.")


@strawberry.type(description="The result of recordMunicipalDecision.")
class RecordMunicipalDecisionPayload(Payload):
    municipal_decision: MunicipalDecision | None = strawberry.field(
        description="The decision recorded; null when refused."
    )


async def record_municipal_decision(
    info: Info,
    input: Annotated[
        RecordMunicipalDecisionInput, strawberry.argument(description="The decision.")
    ],
) -> RecordMunicipalDecisionPayload | None:
    outcome = await municipal.record_municipal_decision(
        info.context, command(input, municipal.RecordMunicipalDecision)
    )
    row = outcome.row("municipalDecision")
    return RecordMunicipalDecisionPayload(
        municipal_decision=MunicipalDecision.from_optional(row), **payload_fields(outcome)
    )
