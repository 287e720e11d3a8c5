"""Plain factory functions for tests: create_<thing>(conn, **overrides) -> row id or mapping."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app import models
from app.identifiers import luhn_check_digit

_counter = itertools.count(1)


def personnummer(born: date = date(1980, 5, 17), serial: int | None = None) -> str:
    """A valid 12-digit personnummer for `born`, unique per call unless `serial` is given."""
    serial = serial if serial is not None else next(_counter) % 1000
    nine = f"{born:%y%m%d}{serial:03d}"
    return f"{born:%Y%m%d}{serial:03d}{luhn_check_digit(nine)}"


def hsa(prefix: str = "SE2321000016") -> str:
    return f"{prefix}-T{next(_counter):05d}"


async def _insert(conn: AsyncConnection, model: type[SQLModel], values: dict[str, Any]) -> Any:
    row = model(**values)
    data = row.model_dump()
    await conn.execute(insert(model.__table__).values(**data))  # type: ignore[attr-defined]
    return row


async def create_provider(conn: AsyncConnection, **kw: Any) -> models.CareProvider:
    values = {
        "hsa_id": hsa(),
        "name": "Region Test",
        "organisation_number": "2321000016",
        "kind": "region",
    } | kw
    return await _insert(conn, models.CareProvider, values)  # type: ignore[no-any-return]


async def create_unit(
    conn: AsyncConnection, provider: models.CareProvider, **kw: Any
) -> models.CareUnit:
    values = {
        "hsa_id": hsa(),
        "name": "Vårdcentral Test",
        "care_provider_id": provider.id,
        "kind": "primary_care",
    } | kw
    return await _insert(conn, models.CareUnit, values)  # type: ignore[no-any-return]


async def create_patient(conn: AsyncConnection, **kw: Any) -> models.Patient:
    born = kw.pop("birth_date", date(1980, 5, 17))
    values = {
        "identifier_kind": "personnummer",
        "identifier": personnummer(born),
        "given_name": "Tolvan",
        "family_name": "Tolvansson",
        "birth_date": born,
        "sex": "female",
    } | kw
    return await _insert(conn, models.Patient, values)  # type: ignore[no-any-return]


def header(patient: models.Patient, unit: models.CareUnit, **kw: Any) -> dict[str, Any]:
    """The clinical header of DOMAIN.md section 1 for a row of `patient` at `unit`."""
    when = kw.pop("event_time", datetime(2024, 3, 1, 9, 30, tzinfo=UTC))
    return {
        "patient_id": patient.id,
        "document_id": f"doc-{uuid.uuid4().hex[:16]}",
        "source_system_hsa_id": "SE2321000016-SRC1",
        "event_time": when,
        "author_time": when,
        "care_provider_id": unit.care_provider_id,
        "care_unit_id": unit.id,
    } | kw


async def create_care_contact(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.CareContact:
    own = {
        k: kw.pop(k) for k in list(kw) if k in {"contact_type", "status", "reason", "period_end"}
    }
    values = header(patient, unit, **kw) | {"contact_type": "besok", "status": "avslutad"} | own
    return await _insert(conn, models.CareContact, values)  # type: ignore[no-any-return]
