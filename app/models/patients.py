"""Patients, their representatives, and their care relationships."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from app.models.base import PatientRow, one_of, patient_index, tz_field, utcnow


class IdentifierKind(StrEnum):
    PERSONNUMMER = "personnummer"
    SAMORDNINGSNUMMER = "samordningsnummer"
    RESERVNUMMER = "reservnummer"
    # Only identifiers of other systems (an MRN, a Synthea uuid): they live in
    # patient_identifier; the patient row shows the first one's value.
    EXTERNAL = "external"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class RepresentativeKind(StrEnum):
    GUARDIAN = "guardian"
    POWER_OF_ATTORNEY = "power_of_attorney"


class Patient(SQLModel, table=True):
    """A person in care. `id` is the patient's own key and the distribution key of their data."""

    __tablename__ = "patient"
    __table_args__ = (
        one_of("identifier_kind", IdentifierKind),
        one_of("sex", Sex),
        # Swedish identifiers are unique by kind; external values only with their system
        # (patient_identifier), so two systems' MRN 12345 stay two patients.
        Index(
            "uq_patient_identifier",
            "identifier_kind",
            "identifier",
            unique=True,
            postgresql_where=text("identifier_kind <> 'external'"),
        ),
        # The patient lists' order (resolvers/patients.PATIENT_SORT).
        Index("ix_patient_name_order", "family_name", "given_name", "id"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    identifier_kind: str = Field(max_length=20)
    identifier: str = Field(
        max_length=200, description="12 digits for (samordnings)nummer; as issued otherwise"
    )
    reserve_issuer: str | None = Field(default=None, max_length=100)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    birth_date: date
    sex: str = Field(max_length=10)
    protected_identity: bool = Field(default=False, description="Sekretessmarkering (A16)")
    street_address: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=6)
    city: str | None = Field(default=None, max_length=100)
    municipality_code: str | None = Field(default=None, foreign_key="municipality.code")
    deceased_on: date | None = None
    created_at: datetime = tz_field(default_factory=utcnow)
    updated_at: datetime = tz_field(default_factory=utcnow)
    version: int = 1


class PatientIdentifier(SQLModel, table=True):
    """An identifier of a patient as (system, value), other than the patient row's own Swedish
    identifier: identifiers of other systems and further Swedish ones. (system, value) is
    unique, so one identifier can never name two persons; Swedish systems are stored in their
    OID form (app.identifiers.canonical_patient_system)."""

    __tablename__ = "patient_identifier"
    __table_args__ = (Index("ix_patient_identifier_patient_id", "patient_id"),)
    system: str = Field(primary_key=True, max_length=200)
    value: str = Field(primary_key=True, max_length=200)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", ondelete="CASCADE")
    position: int = Field(default=0, description="Order among the patient's identifiers")


class Representative(PatientRow, table=True):
    """A guardian of a child or a holder of power of attorney, acting for the patient.

    A patient may name as holder of power of attorney a person who is not registered here:
    the row then keeps the personnummer named (`representative_identifier`) and no
    `representative_patient_id`, grants nothing, and is completed when that person is
    registered (A12: the answer never tells whether a personnummer is registered)."""

    __tablename__ = "representative"
    __table_args__ = (
        one_of("kind", RepresentativeKind),
        Index("ix_representative_representative", "representative_patient_id"),
        CheckConstraint(
            "(representative_patient_id IS NULL) <> (representative_identifier IS NULL)",
            name="one_person",
        ),
    )
    representative_patient_id: uuid.UUID | None = Field(default=None, foreign_key="patient.id")
    representative_identifier: str | None = Field(
        default=None,
        max_length=20,
        description="Personnummer named while the person is not registered (pending)",
    )
    kind: str = Field(max_length=20)
    valid_from: date
    valid_to: date | None = None


class RelationshipOrigin(StrEnum):
    """What gave a unit a care relationship for one purpose (app/models/referrals.py)."""

    REFERRAL = "referral"
    DISCHARGE_PLAN = "discharge_plan"


class CareRelationship(PatientRow, table=True):
    """Vårdrelation: a current care relationship between the patient and a unit (A1, A4)."""

    __tablename__ = "care_relationship"
    __table_args__ = (
        patient_index("care_relationship", "care_unit_id"),
        # The patient search by unit starts at the unit (migration 0006).
        Index("ix_care_relationship_unit_patient", "care_unit_id", "patient_id"),
        one_of("origin", RelationshipOrigin),
    )
    care_unit_id: uuid.UUID = Field(foreign_key="care_unit.id")
    care_provider_id: uuid.UUID = Field(foreign_key="care_provider.id")
    practitioner_id: uuid.UUID | None = Field(default=None, foreign_key="practitioner.id")
    valid_from: datetime = tz_field()
    valid_to: datetime | None = tz_field(default=None)
    # What the relationship is for, when a referral or a discharge plan gave it (else None).
    origin: str | None = Field(default=None, max_length=20)
    origin_id: uuid.UUID | None = None
