"""import-fhir stores a SIP (a CarePlan of category sip) with its participants, goals and
actions, a second import of the same plan replaces them instead of adding more, and the exports
give them back."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.fhir.mapping.sip import sip_to_fhir
from app.settings import Settings
from app.tokens import mint
from tests.fixtures.fhir.rows import PATIENT, PROVIDER, SAMPLES, UNIT, coherent_record
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


def sip_bundle() -> tuple[dict[str, Any], dict[str, Any]]:
    """The coherent record with the sample SIP and its parts as a CarePlan; and that CarePlan."""
    record = coherent_record()
    record.pop("sip_plan", None)
    bundle = as_bundle(record)
    plan = SAMPLES["sip_plan"]
    resource = sip_to_fhir(plan, None, _parts())
    bundle["entry"].append(
        {"resource": resource, "request": {"method": "PUT", "url": f"CarePlan/{plan['id']}"}}
    )
    return bundle, resource


async def test_a_sip_is_imported_with_its_parts(conn: AsyncConnection) -> None:
    bundle, _ = sip_bundle()
    plan = SAMPLES["sip_plan"]
    result = await import_bundle(conn, bundle)
    assert result.ok, result.errors
    stored = await rows_of(conn, "sip_plan", "id")
    assert [r["title"] for r in stored] == [plan["title"]]
    assert (await count(conn, "sip_participant"), await count(conn, "sip_goal")) == (2, 1)
    actions = await rows_of(conn, "sip_action", "id")
    assert [a["description"] for a in actions] == [
        "Läkemedelsöverlämning morgon och kväll",
        "Trygghetslarm installeras",
    ]
    goals = await rows_of(conn, "sip_goal", "id")
    assert actions[0]["goal_id"] == goals[0]["id"]
    done = actions[1]  # marked done with its follow-up note (updateSipAction)
    assert (done["status"], done["status_note"], done["status_set_by_hsa_id"]) == (
        "done",
        "Larmet installerat och provat med patienten",
        "SE2321000016-DSK1",
    )
    again = await import_bundle(conn, bundle)
    assert again.ok, again.errors
    assert (await count(conn, "sip_participant"), await count(conn, "sip_action")) == (2, 2)


async def test_an_imported_sip_is_exported_with_its_parts(
    conn: AsyncConnection, client: httpx.AsyncClient, settings: Settings
) -> None:
    # No silent loss on the way out: $everything and a read by id carry the participants,
    # goals and actions that the import stored, as they came in.
    bundle, sent = sip_bundle()
    plan = SAMPLES["sip_plan"]
    result = await import_bundle(conn, bundle)
    assert result.ok, result.errors
    # The parts live in their rows, not as a preserved remainder of the CarePlan.
    preserved = await conn.execute(
        text("SELECT count(*) FROM fhir_preserved WHERE table_name = 'sip_plan'")
    )
    assert preserved.scalar_one() == 0
    headers = {"authorization": f"Bearer {mint(settings, kind='system', subject='test-fhir')}"}
    everything = await client.get(f"/fhir/Patient/{PATIENT}/$everything", headers=headers)
    assert everything.status_code == 200, everything.text
    [exported] = [
        e["resource"]
        for e in everything.json()["entry"]
        if e["resource"]["resourceType"] == "CarePlan" and e["resource"]["id"] == str(plan["id"])
    ]
    read = await client.get(f"/fhir/CarePlan/{plan['id']}", headers=headers)
    assert read.status_code == 200, read.text
    for resource in (exported, read.json()):
        assert len(resource["contained"]) == len(sent["contained"]) > 0
        assert resource["contained"] == sent["contained"]
        assert resource["activity"] == sent["activity"]
        assert resource.get("goal") == sent.get("goal")
