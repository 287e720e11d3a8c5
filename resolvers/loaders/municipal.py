"""Loaders of municipal care: decisions, implementation plans, municipal health records."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Table, or_, select

from app.models.organizations import ProviderKind, UnitKind
from resolvers.listing import Listing
from resolvers.loaders.base import PatientListLoader, ReferenceByKeyLoader, RowByKeyLoader
from resolvers.loaders.common import by_patient
from resolvers.pagination import SortKey
from resolvers.tables import (
    CARE_DOCUMENT,
    CARE_PROVIDER,
    CARE_UNIT,
    IMPLEMENTATION_PLAN,
    INSATS,
    LEGAL_BASIS,
    MUNICIPAL_DECISION,
    PLAN_ACTIVITY,
)


def municipal_health(table: Table) -> Sequence[ColumnElement[bool]]:
    """Records kept by municipal health care: a kommun provider or a municipal_health unit."""
    kommun = select(CARE_PROVIDER.c.id).where(CARE_PROVIDER.c.kind == ProviderKind.KOMMUN.value)
    health = select(CARE_UNIT.c.id).where(CARE_UNIT.c.kind == UnitKind.MUNICIPAL_HEALTH.value)
    return [or_(table.c.care_provider_id.in_(kommun), table.c.care_unit_id.in_(health))]


class LegalBasisByCodeLoader(ReferenceByKeyLoader):
    table, column = LEGAL_BASIS, "code"


class InsatsByCodeLoader(ReferenceByKeyLoader):
    table, column = INSATS, "code"


class MunicipalDecisionByIdLoader(RowByKeyLoader):
    table, disclose = MUNICIPAL_DECISION, "MunicipalDecision"


class ImplementationPlanByIdLoader(RowByKeyLoader):
    table, disclose = IMPLEMENTATION_PLAN, "ImplementationPlan"


class PlanActivityByIdLoader(RowByKeyLoader):
    table, disclose = PLAN_ACTIVITY, "PlanActivity"


class MunicipalDecisionsByPatientLoader(PatientListLoader):
    listing = by_patient(MUNICIPAL_DECISION, "MunicipalDecision")


class ImplementationPlansByPatientLoader(PatientListLoader):
    listing = by_patient(IMPLEMENTATION_PLAN, "ImplementationPlan")


class ImplementationPlansByDecisionLoader(PatientListLoader):
    listing = by_patient(IMPLEMENTATION_PLAN, "ImplementationPlan", "decision_id")


class MunicipalHealthRecordsByPatientLoader(PatientListLoader):
    listing = by_patient(CARE_DOCUMENT, "CareDocument", where=municipal_health)


class PlanActivitiesByPlanLoader(PatientListLoader):
    listing = Listing(
        PLAN_ACTIVITY,
        ("patient_id", "plan_id"),
        SortKey("PlanActivity", ("position", "id"), descending=False),
        "PlanActivity",
    )
