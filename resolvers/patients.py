"""Patient root fields."""

from __future__ import annotations

import strawberry
from sqlalchemy import select

from app.context import Context
from app.errors import BadInput
from app.identifiers import (
    IdentifierError,
    detect_person_identifier_kind,
    normalize_person_identifier,
)
from app.models import Patient as PatientRow
from schema.patients import Patient


async def patient(info: strawberry.Info[Context, None], personnummer: str) -> Patient | None:
    ctx = info.context
    try:
        kind = detect_person_identifier_kind(personnummer, field="personnummer")
        identifier = normalize_person_identifier(kind, personnummer, field="personnummer")
    except IdentifierError as exc:
        raise BadInput(str(exc), field=exc.field, rule=exc.rule) from None
    table = PatientRow.__table__  # type: ignore[attr-defined]
    found = await ctx.data.fetch(select(table.c.id).where(table.c.identifier == identifier))
    if not found:
        return None
    pid = found[0]["id"]
    if pid not in await ctx.data.visible_patients([pid]):
        return None
    rows = await ctx.data.fetch(select(table).where(table.c.id == pid), disclose="Patient")
    row = rows[0]
    return Patient(
        id=strawberry.ID(str(row["id"])),
        personnummer=row["identifier"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        birth_date=row["birth_date"],
    )
