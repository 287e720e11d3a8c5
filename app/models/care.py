"""The clinical record (NPÖ / 1177 Journalen categories, DOMAIN.md section 2)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Index, Numeric, Text
from sqlmodel import Field

from app.models.base import ClinicalHeader, clinical_table_args, one_of, patient_index, tz_field
from app.news2 import Consciousness, News2Risk


class ContactType(StrEnum):
    BESOK = "besok"
    TELEFON = "telefon"
    VARDTILLFALLE = "vardtillfalle"
    DAGSJUKVARD = "dagsjukvard"
    ANNAN = "annan"


class ContactStatus(StrEnum):
    EJ_PABORJAD = "ej_paborjad"
    INSTALLD = "installd"
    PAGAENDE = "pagaende"
    AVBRUTEN = "avbruten"
    AVSLUTAD = "avslutad"


class DiagnosisType(StrEnum):
    HUVUDDIAGNOS = "huvuddiagnos"
    BIDIAGNOS = "bidiagnos"


class AlertType(StrEnum):
    HYPERSENSITIVITY = "hypersensitivity"
    SERIOUS_DISEASE = "serious_disease"
    TREATMENT = "treatment"
    COMMUNICABLE_DISEASE = "communicable_disease"
    RESTRICTION_OF_CARE = "restriction_of_care"
    UNSTRUCTURED = "unstructured"


class Severity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    LIFE_THREATENING = "life_threatening"


class LabInterpretation(StrEnum):
    NORMAL = "normal"
    LOW = "low"
    HIGH = "high"
    CRITICAL = "critical"
    ABNORMAL = "abnormal"


class CareContact(ClinicalHeader, table=True):
    """Vårdkontakt: a visit, call or stay. `event_time` is its start; an ongoing stay has no end."""

    __tablename__ = "care_contact"
    __table_args__ = clinical_table_args(
        "care_contact",
        one_of("contact_type", ContactType),
        one_of("status", ContactStatus),
        patient_index("care_contact", "care_unit_id"),
        # Reverse link CareUnit.careContacts spans patients (see docs/data-model.md).
        Index("ix_care_contact_unit_event_time", "care_unit_id", "event_time", "id"),
    )
    contact_type: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=500, description="In the patient's words")
    period_end: datetime | None = tz_field(default=None)
    status: str = Field(max_length=20)


class CareDocument(ClinicalHeader, table=True):
    """Journalanteckning: a note; `legal_authenticator_*` says who signed it."""

    __tablename__ = "care_document"
    __table_args__ = clinical_table_args(
        "care_document",
        # Reverse link Practitioner.documents spans patients (see docs/data-model.md).
        Index(
            "ix_care_document_accountable_event_time",
            "accountable_practitioner_id",
            "event_time",
            "id",
        ),
        patient_index("care_document", "care_contact_id"),  # CareContact.documents
    )
    document_type: str = Field(max_length=60)
    title: str = Field(max_length=200)
    text: str = Field(sa_type=Text)


class Diagnosis(ClinicalHeader, table=True):
    """An ICD-10-SE diagnosis, main or secondary."""

    __tablename__ = "diagnosis"
    __table_args__ = clinical_table_args(
        "diagnosis",
        one_of("diagnosis_type", DiagnosisType),
        patient_index("diagnosis", "code"),
        patient_index("diagnosis", "care_contact_id"),  # CareContact.diagnoses
    )
    code: str = Field(max_length=10)
    display: str = Field(max_length=300)
    diagnosis_type: str = Field(max_length=20)


class Alert(ClinicalHeader, table=True):
    """Uppmärksamhetsinformation; hypersensitivity carries agent and severity."""

    __tablename__ = "alert"
    __table_args__ = clinical_table_args(
        "alert",
        one_of("alert_type", AlertType),
        one_of("severity", Severity),
    )
    alert_type: str = Field(max_length=30)
    description: str = Field(max_length=1000)
    valid_from: date | None = None
    valid_to: date | None = None
    agent_npl_id: str | None = Field(default=None, max_length=14)
    agent_atc_code: str | None = Field(default=None, max_length=7)
    agent_text: str | None = Field(default=None, max_length=200)
    severity: str | None = Field(default=None, max_length=20)
    condition_code: str | None = Field(default=None, max_length=10, description="ICD-10-SE")
    treatment_code: str | None = Field(default=None, max_length=5, description="KVÅ")


class FunctionalStatus(ClinicalHeader, table=True):
    """PADL assessment or disability (funktionsnedsättning, ICF code)."""

    __tablename__ = "functional_status"
    __table_args__ = clinical_table_args("functional_status")
    assessment_type: str = Field(max_length=30, description="padl or funktionsnedsattning")
    icf_code: str | None = Field(default=None, max_length=10)
    text: str = Field(max_length=2000)


class LabResult(ClinicalHeader, table=True):
    """One analysis of a laboratory order (NPU or LOINC coded)."""

    __tablename__ = "lab_result"
    __table_args__ = clinical_table_args(
        "lab_result",
        one_of("interpretation", LabInterpretation),
        patient_index("lab_result", "code"),
    )
    order_id: str = Field(max_length=64)
    code_system: str = Field(max_length=10, description="NPU or LOINC")
    code: str = Field(max_length=20)
    name: str = Field(max_length=200)
    # Unconstrained numeric: a value keeps the digits it was written with (6.3, not 6.300000).
    value_numeric: Decimal | None = Field(default=None, sa_type=Numeric())
    value_text: str | None = Field(default=None, max_length=200)
    unit: str | None = Field(default=None, max_length=40)
    interpretation: str | None = Field(default=None, max_length=20)
    reference_low: Decimal | None = Field(default=None, sa_type=Numeric())
    reference_high: Decimal | None = Field(default=None, sa_type=Numeric())
    specimen: str | None = Field(default=None, max_length=60)


class ReferralOutcome(ClinicalHeader, table=True):
    """Remissvar: the answer (preliminary or final) to a referral."""

    __tablename__ = "referral_outcome"
    __table_args__ = clinical_table_args("referral_outcome")
    outcome_type: str = Field(max_length=10, description="slutsvar or svar")
    text: str = Field(sa_type=Text)
    referral_id: str = Field(max_length=64)
    referral_reason: str | None = Field(default=None, max_length=500)
    referral_author: str | None = Field(default=None, max_length=200)


class Vaccination(ClinicalHeader, table=True):
    """An administered vaccine dose."""

    __tablename__ = "vaccination"
    __table_args__ = clinical_table_args("vaccination")
    vaccine_name: str = Field(max_length=200)
    vaccine_npl_id: str | None = Field(default=None, max_length=14)
    atc_code: str | None = Field(default=None, max_length=7)
    target_disease: str = Field(max_length=100)
    dose_number: int = 1
    batch: str | None = Field(default=None, max_length=40)
    performer_name: str | None = Field(default=None, max_length=200)


class VitalSigns(ClinicalHeader, table=True):
    """One complete set of NEWS2 observations, with the score computed when it was written."""

    __tablename__ = "vital_signs"
    __table_args__ = clinical_table_args(
        "vital_signs",
        one_of("consciousness", Consciousness),
        one_of("news2_risk", News2Risk),
    )
    respiration_rate: int = Field(description="breaths per minute")
    spo2: int = Field(description="oxygen saturation, per cent")
    hypercapnic_scale: bool = Field(default=False, description="SpO2 scored on NEWS2 scale 2")
    supplemental_oxygen: bool = False
    systolic_bp: int = Field(description="mmHg")
    diastolic_bp: int | None = Field(default=None, description="mmHg; not scored")
    pulse: int = Field(description="beats per minute")
    consciousness: str = Field(max_length=20, description="ACVPU")
    temperature: Decimal = Field(sa_type=Numeric(3, 1), description="degrees Celsius")
    news2_score: int
    news2_risk: str = Field(max_length=20)
