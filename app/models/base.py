"""Shared column sets: reference rows, patient-scoped rows, and the clinical header.

Every patient-scoped table has the primary key (patient_id, id) and indexes that lead with
patient_id, so the schema can be distributed by patient (Citus co-location) without redesign:
see docs/data-model.md.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKeyConstraint, Index
from sqlmodel import Field, SQLModel

# Deterministic constraint names, so migrations can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def tz_field(**kwargs: Any) -> Any:
    """A timestamptz column (SQLModel's default DateTime has no time zone)."""
    return Field(sa_type=DateTime(timezone=True), **kwargs)


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    """CHECK that `column` holds one of the enum's values (NULL passes, as in SQL)."""
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


def patient_fk(table: str, column: str, target: str, *, name: str) -> ForeignKeyConstraint:
    """Composite foreign key to another patient-scoped row: co-located by patient."""
    return ForeignKeyConstraint(
        ["patient_id", column], [f"{target}.patient_id", f"{target}.id"], name=name
    )


def patient_index(table: str, *columns: str) -> Index:
    """An index that leads with patient_id."""
    return Index(f"ix_{table}_patient_{'_'.join(columns)}", "patient_id", *columns)


class ReferenceRow(SQLModel):
    """Rows shared by all patients (organisations, practitioners): a plain uuid key."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)


class PatientRow(SQLModel):
    """Rows that belong to one patient: key (patient_id, id), patient first."""

    patient_id: uuid.UUID = Field(primary_key=True, foreign_key="patient.id")
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = tz_field(default_factory=utcnow)
    updated_at: datetime = tz_field(default_factory=utcnow)
    version: int = Field(default=1, description="Optimistic-concurrency version, +1 per update")


class ClinicalHeader(PatientRow):
    """The header every clinical item carries (RIV-TA PatientSummaryHeader, DOMAIN.md section 1)."""

    document_id: str = Field(max_length=64, description="Unique per source system")
    source_system_hsa_id: str = Field(max_length=31)
    event_time: datetime = tz_field(
        description="When the care event happened (a contact's start); orders the timeline"
    )
    author_time: datetime = tz_field()
    care_provider_id: uuid.UUID = Field(foreign_key="care_provider.id")
    care_unit_id: uuid.UUID = Field(foreign_key="care_unit.id")
    accountable_practitioner_id: uuid.UUID | None = Field(
        default=None, foreign_key="practitioner.id"
    )
    accountable_hsa_id: str | None = Field(default=None, max_length=31)
    accountable_name: str | None = Field(default=None, max_length=200)
    accountable_role_code: str | None = Field(default=None, max_length=40)
    legal_authenticator_time: datetime | None = tz_field(default=None)
    legal_authenticator_hsa_id: str | None = Field(default=None, max_length=31)
    legal_authenticator_name: str | None = Field(default=None, max_length=200)
    approved_for_patient: bool = Field(default=True)
    care_contact_id: uuid.UUID | None = Field(default=None)
    nullified: bool = Field(default=False)
    nullified_reason: str | None = Field(default=None, max_length=500)
    nullified_at: datetime | None = tz_field(default=None)


# Column names in declaration order: the single list that bulk loaders and mappings share.
PATIENT_ROW_COLUMNS: tuple[str, ...] = tuple(PatientRow.model_fields)
HEADER_COLUMNS: tuple[str, ...] = tuple(
    name for name in ClinicalHeader.model_fields if name not in PatientRow.model_fields
)


def clinical_table_args(table: str, *extra: Any) -> tuple[Any, ...]:
    """The constraints and indexes every clinical table shares, plus its own."""
    return (
        patient_fk(table, "care_contact_id", "care_contact", name=f"fk_{table}_care_contact"),
        patient_index(table, "event_time"),
        Index(
            f"uq_{table}_patient_source_document",
            "patient_id",
            "source_system_hsa_id",
            "document_id",
            unique=True,
        ),
        *extra,
    )
