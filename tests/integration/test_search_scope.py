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


async def test_the_scope_as_a_plan_finds_what_it_finds_at_once(conn: AsyncConnection) -> None:
    # A plan's time is a placeholder bound per run (app/sqlplan.py): no part of the scope may
    # be computed from it in Python (the date of a representation's or a study's approval was,
    # and a proxy or research client found nobody through a planned search).
    from app.models.base import utcnow
    from app.sqlplan import compile_plan, time_placeholder

    w = await build_world(conn)
    parent = await f.create_patient(conn)
    await f.create_representative(conn, w.patient, parent, "guardian")
    study = await f.create_research_study(conn)
    await f.create_consent(conn, w.patient, "research", research_study_id=study.id)
    principals = [
        w.clinician(),
        Principal(kind=PrincipalKind.PATIENT, subject="p", person_identifier=w.patient.identifier),
        Principal(kind=PrincipalKind.PROXY, subject="g", person_identifier=parent.identifier),
        Principal(
            kind=PrincipalKind.RESEARCH, subject="research-test", client_id="research-test",
            study_id=study.id,
        ),
    ]  # fmt: skip
    p = models.Patient.__table__  # type: ignore[attr-defined]
    for principal in principals:
        at_once = await findable(conn, principal)
        assert at_once == {w.patient.id}, principal.kind
        now = time_placeholder()
        scope = data_access(conn, principal).scope_predicate(p.c.id, now=now)
        plan = compile_plan(
            select(p.c.id).where(scope), placeholders={now: "now"}, optional=["now"]
        )
        assert {r["id"] for r in await plan.rows(conn, now=utcnow())} == at_once, principal.kind
        # A person number in the token is bound, never written into the plan's SQL text.
        assert w.patient.identifier not in plan.sql and parent.identifier not in plan.sql
