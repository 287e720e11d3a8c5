"""What imported FHIR held that our rows cannot: kept so that an export gives it back."""

from __future__ import annotations

import uuid

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel


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
