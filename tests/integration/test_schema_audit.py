"""The read side's disclosures reach the audit trail: one entry per operation and patient,
listing exactly what was disclosed."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from app.tokens import mint
from tests import factories as f

QUERY = """
query ThreePatients {
  patients(first: 10, filter: {familyName: "Auditsson"}) {
    nodes {
      id
      careContacts { nodes { id diagnoses { nodes { id } } } }
      prescriptions { nodes { id dispensations { nodes { id } } } }
      alerts { nodes { id } }
      timeline { nodes { id } }
    }
  }
}
"""


async def test_nested_query_over_three_patients_writes_three_entries(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    provider = await f.create_provider(conn)
    unit = await f.create_unit(conn, provider)
    pharmacy = await f.create_unit(conn, provider, kind="pharmacy")
    expected: dict[str, set[str]] = {}
    for i in range(3):
        patient = await f.create_patient(conn, family_name="Auditsson", given_name=f"P{i}")
        made = await f.create_nested_record(conn, patient, unit, pharmacy)
        expected[str(patient.id)] = {f"Patient:{patient.id}"} | {
            f"{kind}:{row.id}" for kind, rows in made.items() for row in rows
        }
    # Someone the query does not touch: no entry.
    other = await f.create_patient(conn, family_name="Annansson")
    await f.create_nested_record(conn, other, unit, pharmacy)

    token = mint(settings, kind="system", subject="audit-test")
    response = await client.post(
        "/graphql",
        json={"query": QUERY, "operationName": "ThreePatients"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    assert len(response.json()["data"]["patients"]["nodes"]) == 3

    rows = (
        await conn.execute(
            text(
                "SELECT patient_id, action, resources, outcome FROM audit_entry"
                " WHERE operation = 'ThreePatients'"
            )
        )
    ).all()
    # The search itself is logged once, without a patient (A12).
    assert [r.action for r in rows if r.patient_id is None] == ["search"]
    per_patient = [r for r in rows if r.patient_id is not None]
    assert len(per_patient) == 3
    assert {str(r.patient_id) for r in per_patient} == set(expected)
    for row in per_patient:
        assert row.outcome == "disclosed"
        assert set(row.resources) == expected[str(row.patient_id)]
