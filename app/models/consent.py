"""The patient's say over their data: consents, blocks (spärrar) and research studies; and the
exceptions to the patient app's age rules that the head of a unit grants (A10)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field

from app.models.base import PatientRow, ReferenceRow, one_of, patient_fk, patient_index, tz_field


class ConsentKind(StrEnum):
    SVOD_ACCESS = "svod_access"
    NLL_ACCESS = "nll_access"
    RESEARCH = "research"
    BLOCK_LIFT = "block_lift"


class ConsentGiver(StrEnum):
    """Who gave a consent, as recorded (`consent.given_by`): the patient in the patient app, a
    representative, a clinician registering a consent the patient gave them in person (with
    their HSA-id), a clinician recording that the patient lacks capacity (A8), or a system
    integration relaying a consent given elsewhere."""

    PATIENT = "patient"
    REPRESENTATIVE = "representative"
    CLINICIAN_RECORDED = "clinician_recorded"
    LACKS_CAPACITY = "lacks_capacity"
    INTEGRATION = "integration"


class BlockKind(StrEnum):
    INNER = "inner"
    OUTER = "outer"


class PortalExceptionKind(StrEnum):
    """What an A10 exception changes at its unit, and for which ages it counts."""

    PATIENT = "patient"  # the child reads their own record at 13-15
    GUARDIAN = "guardian"  # guardians keep reading at 13-17
    DENY_GUARDIAN = "deny_guardian"  # guardians stop reading at 0-12


class TimePrecision(StrEnum):
    """How exactly a study may know when things happened (A15): times are cut to this."""

    EXACT = "exact"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class ResearchStudy(ReferenceRow, table=True):
    """A study with its ethics approval (A15), and what the approval lets it see: by default
    cohort counts only (no records), no free text, no clinician identities, times cut to the
    month, and counts under 5 hidden."""

    __tablename__ = "research_study"
    __table_args__ = (one_of("time_precision", TimePrecision),)
    name: str = Field(max_length=200)
    ethics_approval_ref: str = Field(max_length=60, description="Etikprövningsmyndighetens dnr")
    approved_on: date
    client_id: str = Field(max_length=100, description="The research client allowed to read")
    release_free_text: bool = Field(
        default=False, description="The approval allows free text (notes, reasons, goals)"
    )
    release_clinician_identity: bool = Field(
        default=False, description="The approval allows clinicians' names"
    )
    time_precision: str = Field(
        default=TimePrecision.MONTH, max_length=10, description="Times are cut to this"
    )
    min_cell_size: int = Field(
        default=5, description="Counts under this are shown as '<k' (small-cell suppression)"
    )
    allows_record_access: bool = Field(
        default=False,
        description="The approval allows pseudonymised record access (else cohort counts only)",
    )


class Consent(PatientRow, table=True):
    """Samtycke for one unit, one practitioner or one study; in date and not revoked to count.

    A `block_lift` consent temporarily lifts `block_id` for the unit or user until valid_to (A5).
    """

    __tablename__ = "consent"
    __table_args__ = (
        one_of("kind", ConsentKind),
        patient_fk("consent", "block_id", "block", name="fk_consent_block"),
        patient_index("consent", "kind"),
    )
    kind: str = Field(max_length=20)
    care_provider_id: uuid.UUID | None = Field(default=None, foreign_key="care_provider.id")
    care_unit_id: uuid.UUID | None = Field(default=None, foreign_key="care_unit.id")
    practitioner_id: uuid.UUID | None = Field(default=None, foreign_key="practitioner.id")
    research_study_id: uuid.UUID | None = Field(default=None, foreign_key="research_study.id")
    block_id: uuid.UUID | None = None
    given_by: str = Field(
        default="patient", max_length=20, description="Who gave it (ConsentGiver)"
    )
    recorded_by_hsa_id: str | None = Field(
        default=None,
        max_length=31,
        description="HSA-id of the clinician who recorded a consent the patient gave them",
    )
    valid_from: datetime = tz_field()
    valid_to: datetime | None = tz_field(default=None)
    revoked_at: datetime | None = tz_field(default=None)


class Block(PatientRow, table=True):
    """Spärr. INNER: hides unit `care_unit_id` from the rest of its provider (A2). OUTER: hides
    provider `care_provider_id` from other providers (A3). Optionally only records in a period;
    medication and alerts may be excepted (A5)."""

    __tablename__ = "block"
    __table_args__ = (one_of("kind", BlockKind),)
    kind: str = Field(max_length=10)
    care_provider_id: uuid.UUID = Field(foreign_key="care_provider.id")
    care_unit_id: uuid.UUID | None = Field(default=None, foreign_key="care_unit.id")
    records_from: datetime | None = tz_field(default=None)
    records_to: datetime | None = tz_field(default=None)
    except_medication: bool = False
    except_alerts: bool = False
    placed_at: datetime = tz_field()
    lifted_at: datetime | None = tz_field(default=None)


class PortalException(PatientRow, table=True):
    """An exception to A10's age rules in the patient app, granted by the head of a unit
    (verksamhetschef) for that unit's records only: the child reads their own record from 13,
    guardians keep reading from 13, or guardians stop reading a child under 13. In date and not
    revoked to count; items not approved for the patient stay hidden whatever it says."""

    __tablename__ = "portal_access_exception"
    __table_args__ = (
        one_of("kind", PortalExceptionKind),
        patient_index("portal_access_exception", "care_unit_id"),
    )
    kind: str = Field(max_length=20)
    care_provider_id: uuid.UUID = Field(foreign_key="care_provider.id")
    care_unit_id: uuid.UUID = Field(foreign_key="care_unit.id")
    granted_by_hsa_id: str = Field(max_length=31, description="HSA-id of the head of the unit")
    reason: str = Field(max_length=500)
    valid_from: datetime = tz_field()
    valid_to: datetime | None = tz_field(default=None)
    revoked_at: datetime | None = tz_field(default=None)
    revoked_by_hsa_id: str | None = Field(default=None, max_length=31)
