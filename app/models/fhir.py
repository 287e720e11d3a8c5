"""What imported FHIR held that our rows cannot: kept so that an export gives it back."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from app.models.base import tz_field


class FhirPreserved(SQLModel, table=True):
    """The elements of an imported resource that its row does not hold (app/fhir/preserve.py),
    as FHIR JSON in our own serialisation (decimals keep their digits). `version` is the row's
    version at import: changed values are given back only while the row still has it."""

    __tablename__ = "fhir_preserved"
    __table_args__ = (Index("ix_fhir_preserved_patient_id", "patient_id"),)
    table_name: str = Field(primary_key=True, max_length=40)
    row_id: uuid.UUID = Field(primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", ondelete="CASCADE")
    version: int | None = None
    elements: str = Field(sa_type=Text)


class FhirExportJob(SQLModel, table=True):
    """A Bulk Data $export job (app/fhir/export_jobs.py): kept in the database so that any
    server process answers its polls, and a restarted server (or another process) runs it
    again when the one that ran it is gone. `output` is {resource type: count} once done."""

    __tablename__ = "fhir_export_job"
    __table_args__ = (Index("ix_fhir_export_job_expires_at", "expires_at"),)
    id: uuid.UUID = Field(primary_key=True)
    owner: str = Field(max_length=300)
    status: str = Field(max_length=16)
    request: str = Field(sa_type=Text)
    types: str | None = Field(default=None, sa_type=Text)
    transaction_time: datetime = tz_field()
    expires_at: datetime = tz_field()
    output: str | None = Field(default=None, sa_type=Text)
    error: str | None = Field(default=None, max_length=200)


class FhirExportFile(SQLModel, table=True):
    """The NDJSON of one resource type of a finished job, in parts served one after another."""

    __tablename__ = "fhir_export_file"
    job_id: uuid.UUID = Field(
        primary_key=True, foreign_key="fhir_export_job.id", ondelete="CASCADE"
    )
    resource_type: str = Field(primary_key=True, max_length=64)
    part: int = Field(primary_key=True)
    content: bytes = Field(sa_type=LargeBinary)
