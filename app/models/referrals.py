"""Referrals (remisser) between units, and discharge planning (lag 2017:612).

Both are records of the sending unit (the clinical header names the sender) that are addressed
to other units: the addressee reads what it was sent without a sharing consent (app/access/
addressed.py), and gets a care relationship for the purpose (CareRelationship.origin).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, Text
from sqlmodel import Field

from app.models.base import (
    ClinicalHeader,
    PatientRow,
    clinical_table_args,
    one_of,
    patient_fk,
    patient_index,
    tz_field,
)


class ReferralStatus(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


class ReferralPriority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


class DischargeStatus(StrEnum):
    ENROLLED = "enrolled"
    READY = "ready"
    DISCHARGED = "discharged"
    CANCELLED = "cancelled"


class Referral(ClinicalHeader, table=True):
    """Remiss: a request from the sending unit (the header's unit) to another unit, which
    accepts or rejects it and answers with a remissvar (`outcome_id`, a ReferralOutcome)."""

    __tablename__ = "referral"
    __table_args__ = clinical_table_args(
        "referral",
        one_of("status", ReferralStatus),
        one_of("priority", ReferralPriority),
        patient_fk("referral", "outcome_id", "referral_outcome", name="fk_referral_outcome"),
        # A unit's incoming referrals span patients.
        Index("ix_referral_recipient_status", "recipient_unit_id", "status", "event_time"),
    )
    recipient_unit_id: uuid.UUID = Field(foreign_key="care_unit.id")
    recipient_provider_id: uuid.UUID = Field(foreign_key="care_provider.id")
    priority: str = Field(max_length=10)
    reason: str = Field(max_length=500, description="Frågeställning, in short")
    question: str = Field(sa_type=Text, description="Anamnesis and question")
    status: str = Field(max_length=12)
    status_reason: str | None = Field(default=None, max_length=500)
    outcome_id: uuid.UUID | None = Field(default=None, description="The answer (remissvar)")


class ReferralEvent(PatientRow, table=True):
    """One step of a referral's status history: who moved it to which status, when, why."""

    __tablename__ = "referral_event"
    __table_args__ = (
        one_of("status", ReferralStatus),
        patient_fk("referral_event", "referral_id", "referral", name="fk_referral_event_referral"),
        patient_index("referral_event", "referral_id", "occurred_at"),
    )
    referral_id: uuid.UUID
    status: str = Field(max_length=12)
    occurred_at: datetime = tz_field()
    care_unit_id: uuid.UUID = Field(foreign_key="care_unit.id")
    actor_hsa_id: str | None = Field(default=None, max_length=31)
    actor_name: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=500)


class DischargePlan(ClinicalHeader, table=True):
    """Samordnad utskrivning (lag 2017:612): the hospital's inskrivningsmeddelande to the
    municipality and primary care, then utskrivningsklar with a planned date, the
    municipality's acknowledgement, and the discharge. `event_time` is the admission."""

    __tablename__ = "discharge_plan"
    __table_args__ = clinical_table_args(
        "discharge_plan",
        one_of("status", DischargeStatus),
        # A municipal unit's incoming and overdue patients span patients.
        Index("ix_discharge_plan_municipal_status", "municipal_unit_id", "status", "ready_at"),
    )
    municipal_unit_id: uuid.UUID = Field(foreign_key="care_unit.id")
    municipal_provider_id: uuid.UUID = Field(foreign_key="care_provider.id")
    primary_care_unit_id: uuid.UUID | None = Field(default=None, foreign_key="care_unit.id")
    primary_care_provider_id: uuid.UUID | None = Field(default=None, foreign_key="care_provider.id")
    status: str = Field(max_length=12)
    expected_needs: str | None = Field(
        default=None, max_length=2000, description="Expected needs of support after discharge"
    )
    ready_at: datetime | None = tz_field(default=None, description="Utskrivningsklar")
    planned_discharge_on: date | None = None
    acknowledged_at: datetime | None = tz_field(default=None)
    acknowledged_by_hsa_id: str | None = Field(default=None, max_length=31)
    acknowledged_by_name: str | None = Field(default=None, max_length=200)
    discharged_at: datetime | None = tz_field(default=None)
