"""Municipal care: SoL/LSS decisions and implementation plans (DOMAIN.md section 4)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import strawberry

from resolvers.loaders.municipal import (
    ImplementationPlansByDecisionLoader,
    InsatsByCodeLoader,
    LegalBasisByCodeLoader,
    MunicipalDecisionByIdLoader,
    PlanActivitiesByPlanLoader,
)
from resolvers.loaders.organizations import MunicipalityByCodeLoader
from resolvers.planner.declare import Listed, Owned, Referenced
from resolvers.tables import INSATS, LEGAL_BASIS, MUNICIPALITY
from schema.connections import After, Connection, First, IncludeNullified, Info, list_of, paged
from schema.enums import DecisionOutcome, Framework
from schema.events import CareEvent
from schema.fields import field
from schema.node import Node
from schema.refs import MunicipalityRef
from schema.rows import FromRow


@strawberry.type(
    description="A paragraph of law a decision rests on, with the period it was in force "
    "(data, not a fixed list: the new socialtjänstlag replaced SoL 2001:453 in 2025)."
)
class LegalBasis(FromRow):
    code: str = strawberry.field(description="Code of the legal basis.")
    law: str = strawberry.field(description="The law, e.g. SoL (2025:400), LSS.")
    paragraph: str = strawberry.field(description="The paragraph, e.g. 4 kap. 1 §.")
    title: str = strawberry.field(description="Title of the paragraph.")
    in_force_from: date = strawberry.field(description="First day in force.")
    in_force_to: date | None = strawberry.field(description="Last day in force; null if in force.")


@strawberry.type(description="An insats (service) a municipality can grant under SoL or LSS.")
class Insats(FromRow):
    code: str = strawberry.field(description="Code of the insats.")
    framework: Framework = strawberry.field(description="SoL or LSS.")
    name: str = strawberry.field(description="Name, e.g. hemtjänst, personlig assistans.")
    lss_point: int | None = strawberry.field(description="LSS 9 § point (1-10), for LSS.")
    elderly_or_disability: bool = strawberry.field(
        description="Elderly or disability care: shareable under SVOD."
    )


@strawberry.type(
    description="Biståndsbeslut or LSS-beslut: a municipality's decision on an insats. "
    "`eventTime` is the decision time; the care unit is the performer (utförare)."
)
class MunicipalDecision(CareEvent):
    legal_basis_code: strawberry.Private[str]
    insats_code: strawberry.Private[str]
    municipality_code: strawberry.Private[str]
    applied_on: date = strawberry.field(description="When the person applied.")
    decided_on: date = strawberry.field(description="When the decision was made.")
    valid_from: date | None = strawberry.field(description="First day the decision applies.")
    valid_to: date | None = strawberry.field(description="Last day it applies; open if null.")
    extent_amount: Decimal | None = strawberry.field(description="Extent, e.g. 12 (hours).")
    extent_unit: str | None = strawberry.field(
        description="Unit of the extent, e.g. hours_per_week."
    )
    outcome: DecisionOutcome = strawberry.field(description="Granted, refused or partly granted.")
    case_officer_name: str = strawberry.field(description="Handläggare: the case officer.")
    motivation: str | None = strawberry.field(description="Reasons for the decision.")

    @field(
        description="The paragraph of law the decision rests on.",
        plan=Referenced(LEGAL_BASIS, "legal_basis_code", key="code"),
    )
    async def legal_basis(self, info: Info) -> LegalBasis | None:
        row = await info.context.loader(LegalBasisByCodeLoader).load(self.legal_basis_code)
        return LegalBasis.from_optional(row)

    @field(
        description="The insats decided on.",
        plan=Referenced(INSATS, "insats_code", key="code"),
    )
    async def insats(self, info: Info) -> Insats | None:
        return Insats.from_optional(
            await info.context.loader(InsatsByCodeLoader).load(self.insats_code)
        )

    @field(
        description="The deciding municipality.",
        plan=Referenced(MUNICIPALITY, "municipality_code", key="code"),
    )
    async def municipality(self, info: Info) -> MunicipalityRef | None:
        from schema.organizations import Municipality

        row = await info.context.loader(MunicipalityByCodeLoader).load(self.municipality_code)
        return Municipality.from_optional(row)

    @field(
        description="Implementation plans carrying out this decision.",
        plan=Listed(
            ImplementationPlansByDecisionLoader,
            ("patient_id", "id"),
            paged(ImplementationPlansByDecisionLoader),
        ),
    )
    async def implementation_plans(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[ImplementationPlan]:
        return await list_of(
            info,
            ImplementationPlansByDecisionLoader,
            (self.patient_id, self.pk),
            ImplementationPlan.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )


@strawberry.type(description="One activity of an implementation plan.")
class PlanActivity(Node):
    patient_id: strawberry.Private[uuid.UUID]
    position: int = strawberry.field(description="Order of the activity in its plan.")
    goal: str = strawberry.field(description="What the activity should achieve.")
    description: str = strawberry.field(description="What is done.")
    responsible: str = strawberry.field(description="Who is responsible.")
    when_how: str = strawberry.field(description="When and how it is done.")
    follow_up_on: date | None = strawberry.field(description="When it is followed up.")

    PATIENT_SCOPED = True


@strawberry.type(
    description="Genomförandeplan (SOSFS 2014:5): how a decision is carried out, with goals "
    "and activities."
)
class ImplementationPlan(CareEvent):
    decision_id: strawberry.Private[uuid.UUID]
    goals: str = strawberry.field(description="Goals of the plan.")
    follow_up_on: date | None = strawberry.field(description="When the plan is followed up.")

    @field(
        description="The decision the plan carries out.",
        plan=Owned(MunicipalDecisionByIdLoader, "decision_id"),
    )
    async def decision(self, info: Info) -> MunicipalDecision | None:
        row = await info.context.loader(MunicipalDecisionByIdLoader).load(
            (self.patient_id, self.decision_id)
        )
        return MunicipalDecision.from_optional(row)

    @field(
        description="The plan's activities, in order.",
        plan=Listed(
            PlanActivitiesByPlanLoader, ("patient_id", "id"), paged(PlanActivitiesByPlanLoader)
        ),
    )
    async def activities(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[PlanActivity]:
        return await list_of(
            info,
            PlanActivitiesByPlanLoader,
            (self.patient_id, self.pk),
            PlanActivity.from_row,
            first=first,
            after=after,
        )
