"""Dental care (tandvård, DOMAIN.md section 5)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric
from sqlmodel import Field

from app.models.base import ClinicalHeader, clinical_table_args, patient_index


class DentalTreatment(ClinicalHeader, table=True):
    """A completed treatment as reported to Försäkringskassan; `event_time` is completion."""

    __tablename__ = "dental_treatment"
    __table_args__ = clinical_table_args("dental_treatment")
    condition_code: str = Field(max_length=4, description="TLV tillståndskod")
    procedure_code: str = Field(max_length=3, description="TLV åtgärdskod, e.g. 101")
    procedure_text: str = Field(max_length=200)
    tooth: str | None = Field(default=None, max_length=2, description="FDI tooth number")
    surface: str | None = Field(default=None, max_length=8)
    price_sek: Decimal = Field(sa_type=Numeric(10, 2))


class ToothFinding(ClinicalHeader, table=True):
    """A finding on one tooth (FDI) and surface; the latest per tooth is the current chart."""

    __tablename__ = "tooth_finding"
    __table_args__ = clinical_table_args(
        "tooth_finding", patient_index("tooth_finding", "tooth", "event_time")
    )
    tooth: str = Field(max_length=2)
    surface: str | None = Field(default=None, max_length=8)
    finding_code: str = Field(max_length=20)
    finding_text: str = Field(max_length=300)
