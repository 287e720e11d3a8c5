"""A small care chain for the access-rule tests, and helpers to read through DataAccess.

Provider A (a region) with units U (primary care) and U2 (psychiatry), provider B (private)
with unit V, municipality K with a home-care unit H. Clinician X works at U; patient P has a
care relationship with U and one care document at each of U, U2, V and H.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app import models
from app.access.care import CarePolicy
from app.access.data import DataAccess
from app.access.principal import Principal, PrincipalKind, Purpose
from app.audit import AuditBuffer
from tests import factories as f

NOW = datetime.now(UTC)
LAST_YEAR = NOW - timedelta(days=365)
NEXT_YEAR = NOW + timedelta(days=365)


@dataclass
class World:
    a: models.CareProvider
    b: models.CareProvider
    k: models.CareProvider
    u: models.CareUnit
    u2: models.CareUnit
    v: models.CareUnit
    h: models.CareUnit
    x: models.Practitioner
    patient: models.Patient
    docs: dict[str, uuid.UUID] = field(default_factory=dict)

    def clinician(self, **kw: Any) -> Principal:
        """X at U of A, purpose TREAT, unless overridden."""
        values: dict[str, Any] = {
            "kind": PrincipalKind.CLINICIAN,
            "subject": self.x.hsa_id,
            "name": "Doktor Testsson",
            "purpose": Purpose.TREAT,
            "care_unit_hsa_id": self.u.hsa_id,
            "care_provider_hsa_id": self.a.hsa_id,
        }
        return Principal(**(values | kw))


async def build_world(conn: AsyncConnection) -> World:
    a = await f.create_provider(conn, name="Region A", kind="region")
    b = await f.create_provider(conn, name="Privat B", kind="privat", public=False)
    k = await f.create_provider(conn, name="Kommun K", kind="kommun")
    u = await f.create_unit(conn, a, name="VC U")
    u2 = await f.create_unit(conn, a, name="Psykiatri U2", kind="specialist")
    v = await f.create_unit(conn, b, name="Privat VC V")
    h = await f.create_unit(conn, k, name="Hemtjänst H", kind="home_care")
    x = await f.create_practitioner(conn)
    await f.create_assignment(conn, x, u)
    patient = await f.create_patient(conn)
    await f.create_care_relationship(conn, patient, u)
    world = World(a, b, k, u, u2, v, h, x, patient)
    for name, unit in (("u", u), ("u2", u2), ("v", v), ("h", h)):
        doc = await f.create_clinical(conn, models.CareDocument, patient, unit)
        world.docs[name] = doc.id
    return world


async def ensure_municipality(conn: AsyncConnection, code: str = "0180") -> str:
    await conn.execute(
        text(
            "INSERT INTO municipality (code, name, county_code) VALUES (:c, 'Stockholm', '01')"
            " ON CONFLICT DO NOTHING"
        ),
        {"c": code},
    )
    return code


def data_access(conn: AsyncConnection, principal: Principal) -> DataAccess:
    return DataAccess(conn, principal, CarePolicy(), AuditBuffer(), pseudonym_key=b"test-key")


async def visible_ids(
    conn: AsyncConnection,
    principal: Principal,
    model: type[SQLModel],
    patients: Iterable[uuid.UUID],
    data: DataAccess | None = None,
) -> set[uuid.UUID]:
    """The ids of `model` rows the principal may see of these patients (one request)."""
    data = data or data_access(conn, principal)
    t = model.__table__  # type: ignore[attr-defined]
    predicate = await data.visibility(t, list(patients))
    rows = await data.fetch(select(t.c.id).where(predicate))
    return {r["id"] for r in rows}


async def doc_names(conn: AsyncConnection, world: World, principal: Principal) -> set[str]:
    """Which of the world's documents (u, u2, v, h) the principal sees."""
    seen = await visible_ids(conn, principal, models.CareDocument, [world.patient.id])
    return {name for name, doc in world.docs.items() if doc in seen}


def aged(years: int, days: int = 0) -> date:
    """A birth date giving an age of `years` today (minus `days`: not yet `years`)."""
    today = date.today()
    try:
        born = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        born = today.replace(year=today.year - years, day=28)
    return born + timedelta(days=days)


__all__ = ["NEXT_YEAR", "NOW", "World", "aged", "build_world", "doc_names", "replace"]
