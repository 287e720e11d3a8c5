"""The search scope: the patients a principal may find when searching (a SQL pre-filter)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.principal import Principal, PrincipalKind, Purpose
from tests import factories as f
from tests.integration.privacy_world import build_world, data_access


async def findable(conn: AsyncConnection, principal: Principal) -> set[object]:
    p = models.Patient.__table__  # type: ignore[attr-defined]
    scope = data_access(conn, principal).search_scope(p.c.id)
    return {r[0] for r in await conn.execute(select(p.c.id).where(scope))}


async def test_clinician_finds_patients_of_the_unit_only(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    stranger = await f.create_patient(conn)
    found = await findable(conn, w.clinician())
    assert w.patient.id in found
    assert stranger.id not in found
    assert await findable(conn, w.clinician(purpose=Purpose.ADMIN)) == set()


async def test_patient_finds_only_themself_and_proxy_the_represented(
    conn: AsyncConnection,
) -> None:
    w = await build_world(conn)
    parent = await f.create_patient(conn)
    await f.create_representative(conn, w.patient, parent, "guardian")
    me = Principal(kind=PrincipalKind.PATIENT, subject="p", person_identifier=w.patient.identifier)
    proxy = Principal(kind=PrincipalKind.PROXY, subject="g", person_identifier=parent.identifier)
    assert await findable(conn, me) == {w.patient.id}
    assert await findable(conn, proxy) == {w.patient.id}


async def test_every_search_is_logged(conn: AsyncConnection) -> None:
    from sqlalchemy import text

    from app import audit
    from app.access.principal import ANONYMOUS

    w = await build_world(conn)
    p = models.Patient.__table__  # type: ignore[attr-defined]
    for principal in (w.clinician(), ANONYMOUS):
        data = data_access(conn, principal)
        data.search_scope(p.c.id)
        data.search_scope(p.c.id)  # one entry per request, however many scopes it asks for
        await audit.flush(conn, data.audit, principal, "SearchPatients")
    logged = await conn.execute(
        text("SELECT principal_kind, action, outcome FROM audit_entry ORDER BY id")
    )
    assert [tuple(r) for r in logged] == [
        ("clinician", "search", "nothing"),
        ("anonymous", "search", "denied"),
    ]
