"""The first GraphQL query: a patient by personnummer, over HTTP, with a development token."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from app.tokens import mint
from tests.factories import create_patient

QUERY = "query($p: String!) { patient(personnummer: $p) { personnummer familyName } }"


async def test_patient_by_personnummer(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    patient = await create_patient(conn, family_name="Testsson")
    token = mint(settings, kind="system", subject="test-integration")
    display = f"{patient.identifier[2:8]}-{patient.identifier[8:]}"
    response = await client.post(
        "/graphql",
        json={"query": QUERY, "variables": {"p": display}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["patient"] == {
        "personnummer": patient.identifier,
        "familyName": "Testsson",
    }
    logged = await conn.execute(
        text("SELECT outcome FROM audit_entry WHERE patient_id = :p"), {"p": patient.id}
    )
    assert [r[0] for r in logged] == ["disclosed"]


async def test_anonymous_sees_no_patient(client: httpx.AsyncClient, conn: AsyncConnection) -> None:
    patient = await create_patient(conn)
    response = await client.post(
        "/graphql", json={"query": QUERY, "variables": {"p": patient.identifier}}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in response.json()
    logged = await conn.execute(text("SELECT count(*) FROM audit_entry"))
    assert logged.scalar_one() == 0


async def test_invalid_personnummer_names_field_and_rule(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": QUERY, "variables": {"p": "191212121213"}}
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["rule"] == "luhn"
    assert "personnummer" in error["message"]
