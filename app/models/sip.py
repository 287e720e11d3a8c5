"""SIP, samordnad individuell plan (HSL 16 kap. 4 §, SoL): one plan that a region and a
municipality write together, with the patient's consent, for a patient who needs both.

The plan is a clinical row of the unit that convened it; its participants (units of either
side, and people such as the patient or next of kin), goals and actions are rows of the plan.
Every participating provider reads and writes the plan (app/access/addressed.py); each goal
and action names the unit that wrote it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Text
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


class SipStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SipActionStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class SipPlan(ClinicalHeader, table=True):
    """The plan; the header's unit convened it. `version` rises with every write to the plan
    or its goals and actions, so each side learns of the other's change (CONFLICT)."""

    __tablename__ = "sip_plan"
    __table_args__ = clinical_table_args("sip_plan", one_of("status", SipStatus))
    title: str = Field(max_length=200)
    situation: str = Field(sa_type=Text, description="The patient's situation and needs")
    status: str = Field(default=SipStatus.ACTIVE.value, max_length=12)
    follow_up_on: date | None = Field(default=None, description="Next joint follow-up")


class _SipPart(PatientRow):
    plan_id: uuid.UUID
    written_by_unit_id: uuid.UUID = Field(foreign_key="care_unit.id")
    written_by_hsa_id: str | None = Field(default=None, max_length=31)
    written_at: datetime = tz_field()


class SipParticipant(_SipPart, table=True):
    """A unit taking part (with the person who represents it), or a person without one (the
    patient, next of kin)."""

    __tablename__ = "sip_participant"
    __table_args__ = (
        patient_fk("sip_participant", "plan_id", "sip_plan", name="fk_sip_participant_plan"),
        patient_index("sip_participant", "plan_id"),
    )
    care_unit_id: uuid.UUID | None = Field(default=None, foreign_key="care_unit.id")
    care_provider_id: uuid.UUID | None = Field(default=None, foreign_key="care_provider.id")
    name: str = Field(max_length=200)
    role: str = Field(max_length=100, description="e.g. distriktssköterska, patient, dotter")


class SipGoal(_SipPart, table=True):
    __tablename__ = "sip_goal"
    __table_args__ = (
        patient_fk("sip_goal", "plan_id", "sip_plan", name="fk_sip_goal_plan"),
        patient_index("sip_goal", "plan_id"),
    )
    position: int
    goal: str = Field(max_length=500)


class SipAction(_SipPart, table=True):
    """An action towards a goal, with the organisation responsible and when it is followed up."""

    __tablename__ = "sip_action"
    __table_args__ = (
        one_of("status", SipActionStatus),
        patient_fk("sip_action", "plan_id", "sip_plan", name="fk_sip_action_plan"),
        patient_fk("sip_action", "goal_id", "sip_goal", name="fk_sip_action_goal"),
        patient_index("sip_action", "plan_id"),
    )
    goal_id: uuid.UUID | None = None
    description: str = Field(max_length=1000)
    responsible_provider_id: uuid.UUID = Field(foreign_key="care_provider.id")
    responsible_unit_id: uuid.UUID | None = Field(default=None, foreign_key="care_unit.id")
    follow_up_on: date | None = None
    status: str = Field(default=SipActionStatus.PLANNED.value, max_length=12)
    # The follow-up of the last status change (updateSipAction), by the responsible side.
    status_note: str | None = Field(default=None, sa_type=Text)
    status_set_at: datetime | None = tz_field(default=None)
    status_set_by_hsa_id: str | None = Field(default=None, max_length=31)
