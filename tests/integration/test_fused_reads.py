"""A planned read that rides on the policy's facts statement (app/access/rider.py), over HTTP
with the demo roles' own tokens: once a caller has read a patient with a document, the next
read is one statement (the facts with the predicted read) plus the audit, with the same answer
and the same audit entries as without a prediction. When the decision made from the facts
chooses another plan (another patient, a changed fact, a patient not seen), the ridden read is
dropped unread and the answer and audit are again those of a read without a prediction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.rider import DATA, Rider, fuse, spliced
from app.db import ConnectionDatabase
from app.models.audit import AuditEntry
from app.observability.metrics import PLANNER_RIDES
from app.settings import Settings
from app.sqlplan import Plan, Slot
from tests import factories as f
from tests.integration.demo_support import Demo, token_for
from tests.integration.test_situation_matrix import (
    DENTIST,
    ELLA,
    ER_DOCTOR,
    HOME_CARE_NURSE,
    JOHAN,
    OSKAR,
    PATIENT,
    PHARMACIST,
    TOLVAN,
)
from tests.sqlcount import count_statements

AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
AUDITED = (
    "principal_kind", "principal_id", "care_unit_hsa_id", "patient_id", "purpose", "action",
    "operation", "resources", "outcome", "reason", "review_required",
)  # fmt: skip


@dataclass
class Answer:
    body: dict[str, Any]
    audit: list[dict[str, Any]]
    statements: int


@asynccontextmanager
async def client(conn: AsyncConnection, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app of its own (predictions start empty) on the demo's connection."""
    from app.main import create_app

    app = create_app(settings, db=ConnectionDatabase(conn))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


Body = dict[str, Any]


def shipped(operation: str, pnr: str) -> Body:
    return {"operationName": operation, "variables": {"personnummer": pnr}}


async def ask(http: httpx.AsyncClient, demo: Demo, as_: str, body: Body) -> Answer:
    conn = demo.conn
    before = (await conn.execute(select(func.coalesce(func.max(AUDIT.c.id), 0)))).scalar()
    headers = {"authorization": f"Bearer {token_for(demo.settings, as_)}"}
    async with count_statements(conn) as statements:
        response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    rows = await conn.execute(
        select(*(AUDIT.c[c] for c in AUDITED)).where(AUDIT.c.id > before).order_by(AUDIT.c.id)
    )
    return Answer(response.json(), [dict(r) for r in rows.mappings()], len(statements))


async def cold(demo: Demo, as_: str, body: Body, *before: Body) -> Answer:
    """The answer of an app that predicts nothing, after the requests `before` (its audit
    writer's first write takes a statement more: compare counts after as many reads)."""
    unfused = demo.settings.model_copy(update={"fused_reads": False})
    async with client(demo.conn, unfused) as http:
        for earlier in before:
            await ask(http, demo, as_, earlier)
        return await ask(http, demo, as_, body)


def rides(outcome: str) -> float:
    return float(PLANNER_RIDES.labels(outcome)._value.get())


SITUATIONS = [
    (ER_DOCTOR, "EmergencyOverview", TOLVAN),
    (HOME_CARE_NURSE, "HomeCareVisit", TOLVAN),
    (DENTIST, "DentalVisit", OSKAR),
    (PHARMACIST, "PharmacyDispensing", TOLVAN),
    (PATIENT, "MyRecord", TOLVAN),
]


@pytest.mark.parametrize(("as_", "operation", "pnr"), SITUATIONS)
async def test_the_second_read_rides_on_the_facts(
    demo: Demo, as_: str, operation: str, pnr: str
) -> None:
    first = await rides_twice(demo, as_, shipped(operation, pnr))
    assert first.body["data"]["patient"] is not None


async def test_a_free_form_read_by_id_rides_too(demo: Demo) -> None:
    async with client(demo.conn, demo.settings) as http:
        found = await ask(http, demo, ER_DOCTOR, shipped("EmergencyOverview", TOLVAN))
    tolvan = found.body["data"]["patient"]["id"]
    body = {
        "query": "query($id: ID!) { node(id: $id) { ... on Patient { givenName"
        " careContacts(first: 3) { totalCount nodes { id careUnit { name } } } } } }",
        "variables": {"id": tolvan},
    }
    first = await rides_twice(demo, ER_DOCTOR, body)
    assert first.body["data"]["node"]["careContacts"]["totalCount"] > 0


async def rides_twice(demo: Demo, as_: str, body: Body) -> Answer:
    """The first of two same requests in one app; the second rode, with the same answer and
    audit entries, in one statement fewer than without a prediction."""
    async with client(demo.conn, demo.settings) as http:
        first = await ask(http, demo, as_, body)
        used = rides("used")
        second = await ask(http, demo, as_, body)
    assert "errors" not in first.body
    assert rides("used") == used + 1
    assert second.body == first.body
    assert second.audit == first.audit and any(e["resources"] for e in first.audit)
    unfused = await cold(demo, as_, body, body)
    assert (unfused.body, unfused.audit) == (first.body, first.audit)
    assert second.statements == unfused.statements - 1
    return first


async def dropped(
    demo: Demo,
    as_: str,
    operation: str,
    pnrs: tuple[str, ...],
    between: Callable[[], Awaitable[None]] | None = None,
) -> tuple[Answer, Answer]:
    """The last of reads of `pnrs` in one app (with `between` run before it), whose ridden
    read is dropped, and that read's answer from an app that predicts nothing."""
    bodies = [shipped(operation, pnr) for pnr in pnrs]
    async with client(demo.conn, demo.settings) as http:
        for body in bodies[:-1]:
            await ask(http, demo, as_, body)
        if between is not None:
            await between()
        before = rides("dropped")
        answer = await ask(http, demo, as_, bodies[-1])
    assert rides("dropped") == before + 1
    unfused = await cold(demo, as_, bodies[-1], *bodies[:-1])
    assert (answer.body, answer.audit) == (unfused.body, unfused.audit)
    assert answer.statements == unfused.statements
    return answer, unfused


async def test_another_patients_decision_drops_the_ridden_read(demo: Demo) -> None:
    # Two reads with one plan predict it for the next patient; Johan blocked a provider and
    # gave no NLL consent: the plan of Tolvan's reads is not his.
    johan, _ = await dropped(demo, ER_DOCTOR, "EmergencyOverview", (TOLVAN, TOLVAN, JOHAN))
    assert johan.body["data"]["patient"]["withheld"]  # the blocked provider is withheld


async def test_a_patient_not_seen_gets_nothing_of_the_ridden_read(demo: Demo) -> None:
    ella, _ = await dropped(demo, HOME_CARE_NURSE, "HomeCareVisit", (TOLVAN, TOLVAN, ELLA))
    assert ella.body["data"] == {"patient": None}
    assert [e["outcome"] for e in ella.audit] == ["denied"]
    assert not any(e["resources"] for e in ella.audit)


async def test_after_a_dropped_read_a_new_patient_is_not_predicted(demo: Demo) -> None:
    async with client(demo.conn, demo.settings) as http:
        for pnr in (TOLVAN, TOLVAN, JOHAN):  # Johan's read is dropped (above)
            await ask(http, demo, ER_DOCTOR, shipped("EmergencyOverview", pnr))
        before = {outcome: rides(outcome) for outcome in ("used", "dropped")}
        await ask(http, demo, ER_DOCTOR, shipped("EmergencyOverview", OSKAR))
    assert {outcome: rides(outcome) for outcome in before} == before  # nothing rode


async def test_a_queue_of_patients_with_one_plan_rides_from_the_third(demo: Demo) -> None:
    queue = [shipped("PharmacyDispensing", pnr) for pnr in (TOLVAN, JOHAN, OSKAR)]
    async with client(demo.conn, demo.settings) as http:
        for body in queue[:2]:
            await ask(http, demo, PHARMACIST, body)
        used = rides("used")
        third = await ask(http, demo, PHARMACIST, queue[2])
    assert rides("used") == used + 1
    assert third.body["data"]["patient"] is not None
    unfused = await cold(demo, PHARMACIST, queue[2], *queue[:2])
    assert (third.body, third.audit) == (unfused.body, unfused.audit)
    assert third.statements == unfused.statements - 1


async def test_a_fact_changed_since_the_prediction(demo: Demo) -> None:
    conn = demo.conn

    async def block() -> None:
        # Tolvan blocks another provider than the ER doctor's from the others (A3).
        found = await conn.execute(
            text(
                "SELECT DISTINCT c.patient_id, u.care_provider_id FROM care_contact c"
                " JOIN care_unit u ON u.id = c.care_unit_id"
                " JOIN care_provider v ON v.id = u.care_provider_id"
                " JOIN patient p ON p.id = c.patient_id"
                " WHERE p.identifier = :pnr AND v.hsa_id <> :er LIMIT 1"
            ),
            {"pnr": TOLVAN, "er": "SE2321000016-RSTH"},
        )
        patient, provider = found.one()
        await f.create_block(
            conn,
            cast(models.Patient, _Id(patient)),
            "outer",
            cast(models.CareProvider, _Id(provider)),
        )

    async with client(conn, demo.settings) as http:
        before = await ask(http, demo, ER_DOCTOR, shipped("EmergencyOverview", TOLVAN))
    after, _ = await dropped(demo, ER_DOCTOR, "EmergencyOverview", (TOLVAN, TOLVAN), block)
    assert after.body != before.body  # the block shows: something is withheld now


@dataclass
class _Id:
    id: uuid.UUID


FACTS = Plan("SELECT $1::UUID AS id, $2::VARCHAR AS name", ("x", None), (Slot(1, "name", None),))


def test_fuse_numbers_the_read_after_the_facts_and_leaves_literals_alone() -> None:
    read = Plan(
        "SELECT '$1 costs $2' || $2::VARCHAR || $3 AS data, $1::UUID AS disclosed"
        " WHERE $1::UUID IS NOT NULL",
        (None, "c", None),
        (Slot(0, "pid", None), Slot(2, "decided_0", None)),
    )
    fused = fuse(FACTS, read)
    assert "'$1 costs $2' || $3::VARCHAR || $4 AS data, facts_row.id AS disclosed" in fused.sql
    assert "WHERE facts_row.id IS NOT NULL" in fused.sql
    assert fused.constants == ("x", None, "c", None)
    assert [(s.position, s.name) for s in fused.slots] == [(1, "name"), (3, "ride:decided_0")]
    rider = Rider(read)
    assert rider.bound() == {"ride:decided_0": "\x01decided_0\x01"}
    # A rider whose values are known (a mutation's lookups) binds them, and names its columns.
    assert Rider(read, values={"decided_0": "v"}).bound() == {"ride:decided_0": "v"}
    named = fuse(FACTS, read, ("l0_id", "l0_found")).sql
    assert "SELECT facts_row.*, ride.l0_id AS ride_l0_id, ride.l0_found AS ride_l0_found " in named
    assert spliced('{"w":\x01decided_0\x01}', {"pid": "x", "decided_0": "[]"}) == '{"w":[]}'
    # A slot whose marker is not in the JSON was not put in place: the read runs alone.
    assert spliced('{"w":[]}', {"pid": "x", "decided_0": "[]"}) is None


def test_a_read_whose_pid_is_not_a_plain_uuid_does_not_ride() -> None:
    listed = Plan("SELECT 1 AS data WHERE id = ANY($1::UUID[])", (None,), (Slot(0, "pid", None),))
    assert fuse(FACTS, listed).sql == ""
    assert fuse(FACTS, Plan("SELECT 1 AS data", (), ())).sql == ""


def test_answer_only_for_the_predicted_plan_and_patient() -> None:
    plan, other = Plan("SELECT 1", (), ()), Plan("SELECT 1", (), ())
    pid = uuid.uuid4()
    rider = Rider(plan, taken=True, rows=[{"id": pid, DATA: "{}"}])
    assert rider.answer(plan, pid) is not None
    assert rider.answer(other, pid) is None  # an equal plan is not the predicted one
    assert rider.answer(plan, uuid.uuid4()) is None


MUNICIPAL_NURSE = f"{HOME_CARE_NURSE} --unit SE2120000142-HSSO"
COUNTED = {
    "query": "query Counted($pnr: String) "
    "{ patient(personnummer: $pnr) { address { city } alerts(first: 5) { totalCount } } }",
    "variables": {"pnr": TOLVAN},
}


async def test_a_ride_reads_with_its_own_callers_constants(demo: Demo) -> None:
    """Two callers whose plans have the same SQL but other constants (the dentist's unit and
    provider, the municipal nurse's): the nurse's ridden read is her own, as GraphQL
    execution's. (Found by the differential test: the fused statement was kept by the two
    plans' SQL alone, so the nurse's second read rode with the dentist's constants and
    counted, and disclosed, alerts her policy hides.)"""
    graphql_only = demo.settings.model_copy(update={"planner": False})
    async with client(demo.conn, graphql_only) as http:
        executed = await ask(http, demo, MUNICIPAL_NURSE, COUNTED)
    async with client(demo.conn, demo.settings) as http:
        for _ in range(2):
            await ask(http, demo, "--as clinician --who dentist", COUNTED)
        first = await ask(http, demo, MUNICIPAL_NURSE, COUNTED)
        used = rides("used")
        second = await ask(http, demo, MUNICIPAL_NURSE, COUNTED)
    assert rides("used") == used + 1
    assert executed.body["data"]["patient"]["alerts"] == {"totalCount": 0}
    assert (first.body, first.audit) == (executed.body, executed.audit)
    assert (second.body, second.audit) == (executed.body, executed.audit)
