"""Who provides care: care providers (vårdgivare/huvudman), units, municipalities, practitioners."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.models.base import ReferenceRow, one_of


class ProviderKind(StrEnum):
    """Huvudman: who runs the provider."""

    REGION = "region"
    KOMMUN = "kommun"
    PRIVAT = "privat"
    STAT = "stat"


class UnitKind(StrEnum):
    """What a care unit does; pharmacies and dental clinics are units too."""

    PRIMARY_CARE = "primary_care"
    HOSPITAL = "hospital"
    EMERGENCY = "emergency"
    SPECIALIST = "specialist"
    DENTAL = "dental"
    PHARMACY = "pharmacy"
    HOME_CARE = "home_care"
    SPECIAL_HOUSING = "special_housing"
    LSS = "lss"
    MUNICIPAL_HEALTH = "municipal_health"


class Municipality(SQLModel, table=True):
    """A kommun, keyed by its four-digit kommunkod."""

    __tablename__ = "municipality"
    code: str = Field(primary_key=True, max_length=4)
    name: str = Field(max_length=100)
    county_code: str = Field(max_length=2)


class CareProvider(ReferenceRow, table=True):
    """Vårdgivare or omsorgsgivare: the legal entity that is responsible for care."""

    __tablename__ = "care_provider"
    __table_args__ = (one_of("kind", ProviderKind),)
    hsa_id: str = Field(max_length=31, unique=True)
    name: str = Field(max_length=200)
    organisation_number: str = Field(max_length=10)
    kind: str = Field(max_length=10)
    municipality_code: str | None = Field(default=None, foreign_key="municipality.code")
    public: bool = Field(
        default=True, description="Public providers name the person in log extracts"
    )


class CareUnit(ReferenceRow, table=True):
    """Vårdenhet: the unit inside a provider that inner secrecy and inner blocks follow."""

    __tablename__ = "care_unit"
    __table_args__ = (one_of("kind", UnitKind),)
    hsa_id: str = Field(max_length=31, unique=True)
    name: str = Field(max_length=200)
    care_provider_id: uuid.UUID = Field(foreign_key="care_provider.id", index=True)
    kind: str = Field(max_length=20)
    municipality_code: str | None = Field(default=None, foreign_key="municipality.code")
    gln: str | None = Field(default=None, max_length=13, description="Pharmacies' GLN")


class Practitioner(ReferenceRow, table=True):
    """A person who works in care, identified by HSA-id."""

    __tablename__ = "practitioner"
    hsa_id: str = Field(max_length=31, unique=True)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    profession: str = Field(max_length=40, description="e.g. läkare, sjuksköterska, tandläkare")


class Assignment(ReferenceRow, table=True):
    """Medarbetaruppdrag: a practitioner's assignment at a unit, the basis of inner secrecy (A1)."""

    __tablename__ = "assignment"
    practitioner_id: uuid.UUID = Field(foreign_key="practitioner.id", index=True)
    care_unit_id: uuid.UUID = Field(foreign_key="care_unit.id")
    care_provider_id: uuid.UUID = Field(foreign_key="care_provider.id")
    role: str = Field(max_length=40)
    purpose: str = Field(default="vard_och_behandling", max_length=40)
    valid_from: date
    valid_to: date | None = None
