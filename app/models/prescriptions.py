"""Prescriptions and dispensations (Nationella läkemedelslistan, DOMAIN.md section 3)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Numeric
from sqlmodel import Field

from app.models.base import (
    ClinicalHeader,
    clinical_table_args,
    one_of,
    patient_fk,
    patient_index,
    tz_field,
)


class PrescriptionKind(StrEnum):
    RECEPT = "recept"
    LIVSMEDELSANVISNING = "livsmedelsanvisning"
    HJALPMEDELSKORT = "hjalpmedelskort"


class PrescriptionStatus(StrEnum):
    AKTIV = "aktiv"
    UTSATT = "utsatt"
    MAKULERAD = "makulerad"
    ERSATT = "ersatt"
    UTGANGEN = "utgangen"


class Prescription(ClinicalHeader, table=True):
    """A prescription. `chain_id` links renewed, replaced and parallel prescriptions.

    `event_time` is the issue time; the prescriber is the accountable practitioner.
    """

    __tablename__ = "prescription"
    __table_args__ = clinical_table_args(
        "prescription",
        one_of("kind", PrescriptionKind),
        one_of("status", PrescriptionStatus),
        patient_fk("prescription", "replaces_id", "prescription", name="fk_prescription_replaces"),
        patient_index("prescription", "chain_id"),
        patient_index("prescription", "status"),
    )
    kind: str = Field(default=PrescriptionKind.RECEPT.value, max_length=20)
    chain_id: uuid.UUID
    replaces_id: uuid.UUID | None = None
    drug_npl_id: str = Field(max_length=14)
    npl_pack_id: str | None = Field(default=None, max_length=14)
    atc_code: str = Field(max_length=7)
    drug_name: str = Field(max_length=200)
    strength: str | None = Field(default=None, max_length=60)
    form: str | None = Field(default=None, max_length=60)
    dosage_text: str = Field(max_length=500)
    dose_quantity: Decimal | None = Field(default=None, sa_type=Numeric(12, 4))
    dose_unit: str | None = Field(default=None, max_length=20)
    doses_per_day: Decimal | None = Field(default=None, sa_type=Numeric(8, 3))
    amount: Decimal = Field(sa_type=Numeric(12, 3), description="Packages per dispensation")
    dispensations_allowed: int = 1
    dispensation_interval_days: int | None = None
    non_replaceable: bool = False
    valid_until: date = Field(description="Sista giltighetsdag; default issue + 366 days")
    reason: str | None = Field(default=None, max_length=300, description="Ordinationsorsak")
    status: str = Field(default=PrescriptionStatus.AKTIV.value, max_length=20)
    discontinued_reason: str | None = Field(default=None, max_length=300)


class Dispensation(ClinicalHeader, table=True):
    """Uttag/expediering at a pharmacy (care unit of kind pharmacy); `event_time` is the time.

    A reversal is recorded as a new row pointing at the reversed one.
    """

    __tablename__ = "dispensation"
    __table_args__ = clinical_table_args(
        "dispensation",
        patient_fk(
            "dispensation", "prescription_id", "prescription", name="fk_dispensation_prescription"
        ),
        patient_fk("dispensation", "reverses_id", "dispensation", name="fk_dispensation_reverses"),
        patient_index("dispensation", "prescription_id"),
    )
    prescription_id: uuid.UUID
    amount: Decimal = Field(sa_type=Numeric(12, 3))
    article_npl_pack_id: str | None = Field(default=None, max_length=14)
    article_name: str = Field(max_length=200)
    reverses_id: uuid.UUID | None = None


class AdministrationOutcome(StrEnum):
    """What a signature on the signing list (signeringslista) says about one planned dose."""

    GIVEN = "given"
    NOT_GIVEN = "not_given"
    SELF_ADMINISTERED = "self_administered"


class MedicationAdministration(ClinicalHeader, table=True):
    """One signature on a signing list in municipal home care: a dose of a prescription given,
    not given (with the reason) or taken by the patient themself. `event_time` is when it was
    given (or, if not given, when it was due); the signer is the accountable practitioner.
    """

    __tablename__ = "medication_administration"
    __table_args__ = clinical_table_args(
        "medication_administration",
        one_of("outcome", AdministrationOutcome),
        patient_fk(
            "medication_administration",
            "prescription_id",
            "prescription",
            name="fk_medication_administration_prescription",
        ),
        patient_index("medication_administration", "prescription_id"),
    )
    prescription_id: uuid.UUID
    outcome: str = Field(max_length=20)
    planned_at: datetime | None = tz_field(
        default=None, description="The time of the dose on the signing list"
    )
    dose_text: str | None = Field(default=None, max_length=200, description="e.g. 2 tabletter")
    not_given_reason: str | None = Field(default=None, max_length=300)
