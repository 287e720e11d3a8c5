"""import-fhir stores a SIP (a CarePlan of category sip) with its participants, goals and
actions, and a second import of the same plan replaces them instead of adding more."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.fhir.mapping.sip import sip_to_fhir
from tests.fixtures.fhir.rows import PROVIDER, SAMPLES, UNIT, coherent_record
from tests.integration.test_fhir_import import as_bundle, count, import_bundle, rows_of
from tests.unit.test_fhir_sip import PARTS


def _parts() -> dict[str, list[dict[str, Any]]]:
    """The unit test's parts, at units the coherent record holds."""
    swap = {"written_by_unit_id": UNIT}
    out: dict[str, list[dict[str, Any]]] = {}
    for table, rows in PARTS.items():
        out[table] = []
        for row in rows:
            moved = row | swap
            for column in ("care_unit_id", "responsible_unit_id"):
                if moved.get(column) is not None:
                    moved[column] = UNIT
            if moved.get("care_provider_id") is not None:
                moved["care_provider_id"] = PROVIDER
            out[table].append(moved)
    return out


async def test_a_sip_is_imported_with_its_parts(conn: AsyncConnection) -> None:
    record = coherent_record()
    record.pop("sip_plan", None)
    bundle = as_bundle(record)
    plan = SAMPLES["sip_plan"]
    resource = sip_to_fhir(plan, None, _parts())
    bundle["entry"].append(
        {"resource": resource, "request": {"method": "PUT", "url": f"CarePlan/{plan['id']}"}}
    )
    result = await import_bundle(conn, bundle)
    assert result.ok, result.errors
    stored = await rows_of(conn, "sip_plan", "id")
    assert [r["title"] for r in stored] == [plan["title"]]
    assert (await count(conn, "sip_participant"), await count(conn, "sip_goal")) == (2, 1)
    actions = await rows_of(conn, "sip_action", "id")
    assert [a["description"] for a in actions] == ["Läkemedelsöverlämning morgon och kväll"]
    goals = await rows_of(conn, "sip_goal", "id")
    assert actions[0]["goal_id"] == goals[0]["id"]
    again = await import_bundle(conn, bundle)
    assert again.ok, again.errors
    assert (await count(conn, "sip_participant"), await count(conn, "sip_action")) == (2, 1)
