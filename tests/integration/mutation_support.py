"""Helpers for the mutation tests: call the API, make tokens, count rows, read the audit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests.factories import (
    create_assignment,
    create_care_relationship,
    create_patient,
    create_practitioner,
    create_provider,
    create_unit,
)


def system_token(settings: Settings, subject: str = "journal-integration") -> str:
    return mint(settings, kind="system", subject=subject)


def patient_token(settings: Settings, pnr: str) -> str:
    return mint(settings, kind="patient", subject=pnr, pnr=pnr)


async def call(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """POST a GraphQL request; returns the JSON body (asserting an HTTP 200)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def count(conn: AsyncConnection, table: str) -> int:
    result = await conn.execute(text(f"SELECT count(*) FROM {table}"))
    return int(result.scalar_one())


async def written(conn: AsyncConnection, patient_id: uuid.UUID) -> list[str]:
    """Resources of the write entries of the patient's audit trail."""
    rows = await conn.execute(
        text(
            "SELECT resources FROM audit_entry WHERE patient_id = :p AND action = 'write'"
            " ORDER BY id"
        ),
        {"p": patient_id},
    )
    return [resource for (resources,) in rows for resource in resources]


async def disclosed_to(
    conn: AsyncConnection, patient_id: uuid.UUID, principal: str, type_name: str
) -> int:
    """Read entries of the patient's audit trail in which `principal` was disclosed rows of
    `type_name`."""
    rows = await conn.execute(
        text(
            "SELECT count(*) FROM audit_entry WHERE patient_id = :p AND action = 'read'"
            " AND outcome = 'disclosed' AND principal_id = :s AND EXISTS (SELECT 1 FROM"
            " jsonb_array_elements_text(to_jsonb(resources)) r WHERE r LIKE :t)"
        ),
        {"p": patient_id, "s": principal, "t": f"{type_name}:%"},
    )
    return int(rows.scalar_one())


def patient_gid(patient: models.Patient) -> str:
    return encode_id("Patient", patient.id)


def row_gid(type_name: str, row: Any) -> str:
    return encode_id(type_name, row.id, row.patient_id)


@dataclass
class World:
    """A provider with a unit, a patient in care there, and a clinician assigned to it."""

    provider: models.CareProvider
    unit: models.CareUnit
    patient: models.Patient
    practitioner: models.Practitioner

    def clinician_token(self, settings: Settings) -> str:
        return mint(
            settings,
            kind="clinician",
            subject=self.practitioner.hsa_id,
            name="Doktor Testsson",
            role="lakare",
            care_unit=self.unit.hsa_id,
            care_provider=self.provider.hsa_id,
        )


async def make_world(conn: AsyncConnection, *, unit_kind: str = "primary_care") -> World:
    provider = await create_provider(conn)
    unit = await create_unit(conn, provider, kind=unit_kind)
    patient = await create_patient(conn)
    practitioner = await create_practitioner(conn)
    await create_assignment(conn, practitioner, unit)
    await create_care_relationship(conn, patient, unit)
    return World(provider, unit, patient, practitioner)


def errors_of(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(field, code) of a payload's userErrors."""
    return [(e["field"], e["code"]) for e in payload["userErrors"]]
