"""Municipal care: SoL/LSS decisions and implementation plans (DOMAIN.md section 4).

Municipal health care (nurses in home care and special housing) keeps ordinary records in the
clinical tables, under a provider of kind `kommun` and a unit of kind `municipal_health`.
Legal bases and insatser are data (code tables), because the law changes: the new
socialtjänstlag replaced SoL 2001:453 on 1 July 2025.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Numeric, Text
from sqlmodel import Field, SQLModel

from app.models.base import (
    ClinicalHeader,
    PatientRow,
    clinical_table_args,
    one_of,
    patient_fk,
    patient_index,
)


class Framework(StrEnum):
    SOL = "sol"
    LSS = "lss"


class DecisionOutcome(StrEnum):
    BEVILJAD = "beviljad"
    AVSLAG = "avslag"
    DELVIS_BEVILJAD = "delvis_beviljad"


class LegalBasis(SQLModel, table=True):
    """A paragraph of law that a decision rests on, with the period it was in force."""

    __tablename__ = "legal_basis"
    code: str = Field(primary_key=True, max_length=40)
    law: str = Field(max_length=60, description="e.g. SoL (2001:453), SoL (2025:400), LSS")
    paragraph: str = Field(max_length=60)
    title: str = Field(max_length=200)
    in_force_from: date
    in_force_to: date | None = None


class Insats(SQLModel, table=True):
    """An insats (service) a municipality can grant: LSS section 9 points 1-10, SoL services."""

    __tablename__ = "insats"
    __table_args__ = (one_of("framework", Framework),)
    code: str = Field(primary_key=True, max_length=40)
    framework: str = Field(max_length=3)
    name: str = Field(max_length=200)
    lss_point: int | None = Field(default=None, description="LSS section 9 point, 1-10")
    elderly_or_disability: bool = Field(
        default=True, description="Shareable under SVOD (A14): elderly/disability care or LSS"
    )


class MunicipalDecision(ClinicalHeader, table=True):
    """Biståndsbeslut/LSS-beslut; `event_time` is the decision time, the unit is the utförare."""

    __tablename__ = "municipal_decision"
    __table_args__ = clinical_table_args(
        "municipal_decision",
        one_of("outcome", DecisionOutcome),
    )
    legal_basis_code: str = Field(foreign_key="legal_basis.code")
    insats_code: str = Field(foreign_key="insats.code")
    municipality_code: str = Field(foreign_key="municipality.code")
    applied_on: date
    decided_on: date
    valid_from: date | None = None
    valid_to: date | None = None
    extent_amount: Decimal | None = Field(default=None, sa_type=Numeric(8, 2))
    extent_unit: str | None = Field(default=None, max_length=30, description="e.g. hours_per_week")
    outcome: str = Field(max_length=20)
    case_officer_name: str = Field(max_length=200, description="Handläggare")
    motivation: str | None = Field(default=None, sa_type=Text)


class ImplementationPlan(ClinicalHeader, table=True):
    """Genomförandeplan (SOSFS 2014:5) for one decision."""

    __tablename__ = "implementation_plan"
    __table_args__ = clinical_table_args(
        "implementation_plan",
        patient_fk(
            "implementation_plan",
            "decision_id",
            "municipal_decision",
            name="fk_implementation_plan_decision",
        ),
        patient_index("implementation_plan", "decision_id"),  # MunicipalDecision's plans
    )
    decision_id: uuid.UUID
    goals: str = Field(sa_type=Text)
    follow_up_on: date | None = None


class PlanActivity(PatientRow, table=True):
    """One activity of a plan: its goal, who is responsible, when and how, follow-up."""

    __tablename__ = "plan_activity"
    __table_args__ = (
        patient_fk("plan_activity", "plan_id", "implementation_plan", name="fk_plan_activity_plan"),
        patient_index("plan_activity", "plan_id"),
    )
    plan_id: uuid.UUID
    position: int
    goal: str = Field(max_length=500)
    description: str = Field(max_length=1000)
    responsible: str = Field(max_length=200)
    when_how: str = Field(max_length=500)
    follow_up_on: date | None = None
