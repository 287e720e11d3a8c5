"""FHIR through GraphQL: `fhirEverything` and the `importFhirBundle` mutation."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.fhir.r4 import dumps
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests.fixtures.fhir.rows import PATIENT, coherent_record
from tests.integration.test_fhir_export import insert_record
from tests.integration.test_fhir_import import as_bundle

EVERYTHING = "query($p: ID!) { fhirEverything(patientId: $p) }"
IMPORT = """mutation($b: JSON!) {
  importFhirBundle(bundle: $b) {
    ok entries imported { resourceType created updated }
    errors { index resourceType path reason }
    unsupported { index resourceType reason code path }
  }
}"""


def plain_json(data: Any) -> Any:
    """As a GraphQL client sends it: decimals as JSON numbers."""
    return orjson.loads(dumps(data))


async def post(
    client: httpx.AsyncClient, settings: Settings, query: str, variables: dict[str, Any], **who: Any
) -> dict[str, Any]:
    token = mint(settings, **({"kind": "system", "subject": "test-fhir"} | who))
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}", "accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_fhir_everything_returns_the_bundle(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    await insert_record(conn, coherent_record())
    body = await post(client, settings, EVERYTHING, {"p": encode_id("Patient", PATIENT)})
    bundle = body["data"]["fhirEverything"]
    assert bundle["resourceType"] == "Bundle"
    assert bundle["entry"][0]["resource"]["id"] == str(PATIENT)
    logged = await conn.execute(
        text("SELECT action FROM audit_entry WHERE patient_id = :p"), {"p": PATIENT}
    )
    assert [r[0] for r in logged] == ["read"]


async def test_import_mutation_writes_and_reports(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    bundle = plain_json(as_bundle(coherent_record()))
    bundle["entry"].append({"resource": {"resourceType": "Goal"}})
    body = await post(client, settings, IMPORT, {"b": bundle})
    result = body["data"]["importFhirBundle"]
    assert result["ok"] and result["errors"] == []
    assert {"resourceType": "Patient", "created": 2, "updated": 0} in result["imported"]
    # Our own export holds nothing the rows cannot: only the Goal is reported.
    assert [(u["resourceType"], u["code"]) for u in result["unsupported"]] == [
        ("Goal", "UNSUPPORTED_RESOURCE")
    ]
    patients = await conn.execute(
        select(func.count()).select_from(SQLModel.metadata.tables["patient"])
    )
    assert patients.scalar_one() == 2
    logged = await conn.execute(
        text("SELECT action FROM audit_entry WHERE patient_id = :p"), {"p": PATIENT}
    )
    assert [r[0] for r in logged] == ["write"]


async def test_import_mutation_reports_errors_and_writes_nothing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    bundle = plain_json(as_bundle(coherent_record()))
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = "12"
    body = await post(client, settings, IMPORT, {"b": bundle})
    result = body["data"]["importFhirBundle"]
    assert not result["ok"] and result["imported"] == []
    assert result["errors"][0]["index"] == 0
    assert result["errors"][0]["resourceType"] == "Organization"
    municipalities = await conn.execute(
        select(func.count()).select_from(SQLModel.metadata.tables["municipality"])
    )
    assert municipalities.scalar_one() == 0


async def test_only_system_integrations_may_import(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = await post(
        client,
        settings,
        IMPORT,
        {"b": {"resourceType": "Bundle", "type": "batch"}},
        kind="patient",
        subject="191212121212",
        pnr="191212121212",
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
