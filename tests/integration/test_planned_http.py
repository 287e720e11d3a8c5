"""Planned EmergencyOverview and PopulationList over HTTP: the same response and the same audit
entries as GraphQL execution (VARDKEDJA_PLANNER=false), in fewer statements; bad variables
still get GraphQL's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import ConnectionDatabase
from app.graphql_http import GRAPHQL_RESPONSE
from app.models.audit import AuditEntry
from app.settings import Settings
from app.tokens import mint
from schema.persisted import REGISTRY
from tests.integration.privacy_world import World, build_world
from tests.integration.test_planned_emergency import rich_record
from tests.sqlcount import count_statements

AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
SHIPPED = REGISTRY.by_name["EmergencyOverview"]


@asynccontextmanager
async def app_client(
    conn: AsyncConnection, settings: Settings, planner: bool
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the test's connection, with the planner on or off (GraphQL execution)."""
    from app.main import create_app

    chosen = settings.model_copy(update={"planner": planner})
    app = create_app(chosen, db=ConnectionDatabase(conn))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def clinician_token(settings: Settings, w: World) -> str:
    return mint(
        settings,
        kind="clinician",
        subject=w.x.hsa_id,
        name="Doktor Testsson",
        role="lakare",
        care_unit=w.u.hsa_id,
        care_provider=w.a.hsa_id,
    )


async def request(
    conn: AsyncConnection,
    settings: Settings,
    planner: bool,
    body: dict[str, Any],
    token: str,
) -> tuple[int, Any, list[dict[str, Any]], int]:
    """(status, body, audit entries written, statements) of one request."""
    before = (await conn.execute(select(func.coalesce(func.max(AUDIT.c.id), 0)))).scalar()
    headers = {"authorization": f"Bearer {token}", "accept": GRAPHQL_RESPONSE}
    app = app_client(conn, settings, planner)
    async with app as http, count_statements(conn) as stmts:
        response = await http.post("/graphql", json=body, headers=headers)
    rows = await conn.execute(
        select(
            AUDIT.c.principal_kind,
            AUDIT.c.principal_id,
            AUDIT.c.care_unit_hsa_id,
            AUDIT.c.patient_id,
            AUDIT.c.purpose,
            AUDIT.c.action,
            AUDIT.c.operation,
            AUDIT.c.resources,
            AUDIT.c.outcome,
            AUDIT.c.reason,
            AUDIT.c.review_required,
        )
        .where(AUDIT.c.id > before)
        .order_by(AUDIT.c.id)
    )
    return response.status_code, response.json(), [dict(r) for r in rows.mappings()], len(stmts)


async def test_same_response_and_audit_in_fewer_statements(
    conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    await rich_record(conn, w)
    token = clinician_token(settings, w)
    bodies = [
        {"operationName": "EmergencyOverview", "variables": {"personnummer": w.patient.identifier}},
        {"documentId": SHIPPED.document_id, "variables": {"personnummer": w.patient.identifier}},
    ]
    for body in bodies:
        slow = await request(conn, settings, False, body, token)
        fast = await request(conn, settings, True, body, token)
        assert fast[:3] == slow[:3]
        assert slow[0] == 200 and slow[1]["data"]["patient"]["careContacts"]["nodes"]
        assert any(e["outcome"] == "disclosed" and e["resources"] for e in fast[2])
        assert fast[3] < slow[3]


async def test_bad_variables_get_the_graphql_errors(
    conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    token = clinician_token(settings, w)
    for variables in (
        {},
        {"personnummer": "12"},
        {"personnummer": w.patient.identifier, "since": "x"},
    ):
        body = {"operationName": "EmergencyOverview", "variables": variables}
        slow = await request(conn, settings, False, body, token)
        fast = await request(conn, settings, True, body, token)
        assert fast[:3] == slow[:3]
        assert "errors" in fast[1]


async def test_population_list_same_response_and_audit(
    conn: AsyncConnection, settings: Settings
) -> None:
    from tests.integration.test_planned_population import population

    w = await build_world(conn)
    await population(conn, w)
    token = clinician_token(settings, w)
    body = {
        "operationName": "PopulationList",
        "variables": {"first": 50, "items": 5, "provider": w.a.hsa_id},
    }
    slow = await request(conn, settings, False, body, token)
    fast = await request(conn, settings, True, body, token)
    assert fast[:3] == slow[:3]
    assert len(slow[1]["data"]["patients"]["nodes"]) == 5
    assert {e["action"] for e in fast[2]} >= {"search"}
    assert fast[3] < slow[3]
