"""Differential tests: EmergencyOverview through the query planner (one statement) vs the
GraphQL loader path.

Each case runs the shipped document through strawberry and through the planner
(resolvers/planner/) with the same principal on the same data, and requires the same `data` JSON
and the same audit buffer (disclosed rows, denials, events), hence the same audit entries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.principal import ANONYMOUS, Principal, PrincipalKind, Purpose
from app.audit import AuditBuffer
from resolvers.planner.parts import Decline, as_value
from resolvers.planner.run import run_planned
from schema import schema
from schema.persisted import REGISTRY, PersistedOperation
from tests import factories as f
from tests.integration.privacy_world import World, build_world
from tests.sqlcount import context, count_statements

SHIPPED = REGISTRY.by_name["EmergencyOverview"]
T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def audit_of(buffer: AuditBuffer) -> dict[str, Any]:
    return {
        "disclosed": {str(p): sorted(r) for p, r in buffer.disclosed.items()},
        "denied": {str(p): reason for p, reason in buffer.denied.items()},
        "events": sorted(repr(e) for e in buffer.events),
    }


async def both(
    conn: AsyncConnection, principal: Principal, variables: dict[str, Any]
) -> tuple[Any, Any, dict[str, Any], int]:
    """`both_paths` of EmergencyOverview."""
    return await both_paths(conn, SHIPPED, principal, variables)


async def both_paths(
    conn: AsyncConnection,
    shipped: PersistedOperation,
    principal: Principal,
    variables: dict[str, Any],
) -> tuple[Any, Any, dict[str, Any], int]:
    """A shipped operation through GraphQL and through the planner: (graphql data, planned
    data, audit of the planned run, statements of the planned run); asserts that both audits
    are the same."""
    slow = context(conn, principal)
    result = await schema.execute(shipped.document, variable_values=variables, context_value=slow)
    assert result.errors is None, result.errors
    fast = context(conn, principal)
    async with count_statements(conn) as statements:
        answer = await run_planned(fast, schema, shipped.document, shipped.name, variables)
    data = as_value(answer)
    assert audit_of(fast.audit) == audit_of(slow.audit)
    # Round-trip through JSON: what the client receives from each path.
    return orjson.loads(orjson.dumps(result.data)), data, audit_of(fast.audit), len(statements)


async def decision_statements(conn: AsyncConnection, w: World) -> int:
    """How many statements the policy's decision on the patient costs (its own business)."""
    async with count_statements(conn) as statements:
        await context(conn, w.clinician()).data.access([w.patient.id])
    return len(statements)


async def rich_record(conn: AsyncConnection, w: World) -> None:
    """Rows at U (visible), U2 (inner-blocked), V (other provider), some nullified, many
    contacts (more than a page), diagnoses at and outside contacts, odd timestamps."""
    await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id)
    practitioner = await f.create_practitioner(conn)
    for i in range(20):
        when = T0 - timedelta(days=i, microseconds=0 if i % 2 else 1234)
        unit = (w.u, w.u, w.u, w.u2, w.v)[i % 5]
        contact = await f.create_care_contact(
            conn,
            w.patient,
            unit,
            event_time=when,
            period_end=None if i % 4 == 0 else when + timedelta(hours=2),
            reason=None if i % 5 == 0 else f"Besvär {i}",
            contact_type="telefon" if i % 2 else "vardtillfalle",
            status="pagaende" if i == 0 else "avslutad",
            nullified=i == 7,
        )
        for j in range(7 if i == 1 else 1):
            await f.create_diagnosis(
                conn,
                w.patient,
                unit,
                care_contact_id=contact.id,
                event_time=when + timedelta(minutes=j),
                code=f"J{j:02d}",
                diagnosis_type="bidiagnos" if j else "huvuddiagnos",
                nullified=j == 3,
            )
    for i in range(24):
        await f.create_diagnosis(
            conn, w.patient, (w.u, w.v)[i % 2], event_time=T0 - timedelta(days=30 + i)
        )
    await f.create_alert(conn, w.patient, w.u, valid_to=T0.date(), condition_code="I10")
    await f.create_alert(conn, w.patient, w.u2, severity=None, alert_type="unstructured")
    await f.create_alert(conn, w.patient, w.u, nullified=True)
    await f.create_prescription(
        conn,
        w.patient,
        w.u,
        accountable_hsa_id=w.x.hsa_id,
        accountable_practitioner_id=w.x.id,
        accountable_name="Doktor Testsson",
        strength="500 mg",
    )
    await f.create_prescription(
        conn, w.patient, w.u, accountable_hsa_id=practitioner.hsa_id, nullified=True
    )
    await f.create_prescription(conn, w.patient, w.u, accountable_hsa_id=practitioner.hsa_id)
    await f.create_prescription(conn, w.patient, w.u, status="utsatt")
    await f.create_prescription(conn, w.patient, w.v, form="tablett")
    # Lab results (more than a page; text, numeric and no values), blood groups (the newest
    # visible one counts), critical alerts.
    for i in range(12):
        await f.create_lab_result(
            conn,
            w.patient,
            (w.u, w.u2, w.v)[i % 3],
            event_time=T0 - timedelta(days=i, microseconds=i * 7),
            value_numeric=None if i % 4 == 0 else Decimal("2.4") + i,
            value_text="svagt positiv" if i % 4 == 0 else None,
            interpretation=(None, "critical", "high")[i % 3],
            nullified=i == 5,
        )
    for days, group in ((400, "0 RhD negativ"), (300, "A RhD positiv")):
        await f.create_lab_result(
            conn,
            w.patient,
            w.u,
            event_time=T0 - timedelta(days=days),
            code_system="LOINC",
            code="882-1",
            name="AB0- och RhD-grupp",
            value_numeric=None,
            value_text=group,
            interpretation=None,
        )
    await f.create_alert(conn, w.patient, w.u, severity="life_threatening")
    await f.create_alert(conn, w.patient, w.u, alert_type="restriction_of_care", severity=None)
    # Vital signs: the newest visible one is shown (a newer one is nullified, one newer still
    # is at the blocked unit U2).
    for hours, unit, extra in (
        (30, w.u, {}),
        (20, w.u, {"temperature": Decimal("38.4"), "news2_score": 4, "pulse": 112}),
        (10, w.u, {"nullified": True}),
        (5, w.u2, {"consciousness": "voice", "news2_score": 3, "news2_risk": "low_medium"}),
        (1, w.v, {"supplemental_oxygen": True, "news2_score": 2}),
    ):
        await f.create_vital_signs(
            conn, w.patient, unit, event_time=T0 - timedelta(hours=hours), **extra
        )


async def test_clinician_with_care_relationship_sees_the_same(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await rich_record(conn, w)
    slow, fast, audit, statements = await both(
        conn, w.clinician(), {"personnummer": w.patient.identifier}
    )
    assert fast == slow
    patient = slow["patient"]
    assert patient["careContacts"]["totalCount"] > 10
    assert len(patient["careContacts"]["nodes"]) == 10
    assert patient["bloodGroup"]["valueText"] == "A RhD positiv"
    # Own unit only (U2 is inner-blocked, V another provider): four results, two blood groups.
    assert len(patient["labResults"]["nodes"]) == 6
    # The severe allergy, the life-threatening one, the restriction of care.
    assert sum(a["critical"] for a in patient["alerts"]["nodes"]) == 3
    assert patient["diagnoses"]["totalCount"] > 20
    assert any(len(c["diagnoses"]["nodes"]) == 5 for c in patient["careContacts"]["nodes"])
    assert patient["prescriptions"]["totalCount"] == 1
    assert patient["prescriptions"]["nodes"][0]["accountable"] == {"name": "Doktor Testsson"}
    # The newest visible vital signs: at U, not the nullified, blocked or other provider's ones.
    assert patient["vitalSigns"]["totalCount"] == 2
    [vitals] = patient["vitalSigns"]["nodes"]
    assert (vitals["news2Score"], vitals["temperature"], vitals["pulse"]) == (4, "38.4", 112)
    assert vitals["careUnit"] == {"name": "VC U"}
    assert len(audit["disclosed"][str(w.patient.id)]) > 30
    # The patient's id and the policy's decision in one statement (with the clinician's
    # assignment, app/access/facts.py), then the one read statement.
    assert statements == 2
    assert await decision_statements(conn, w) == 1


async def test_with_consent_other_providers_show(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await rich_record(conn, w)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    await f.create_consent(conn, w.patient, "nll_access", care_unit_id=w.u.id)
    variables = {"personnummer": w.patient.identifier}
    slow, fast, _, _ = await both(conn, w.clinician(), variables)
    assert fast == slow
    assert slow["patient"]["prescriptions"]["totalCount"] == 3
    units = {n["careUnit"]["name"] for n in slow["patient"]["careContacts"]["nodes"]}
    assert units == {"VC U", "Privat VC V"}
    assert slow["patient"]["vitalSigns"]["nodes"][0]["supplementalOxygen"] is True
    await f.create_block(conn, w.patient, "outer", w.b)
    slow, fast, _, _ = await both(conn, w.clinician(), variables)
    assert fast == slow
    units = {n["careUnit"]["name"] for n in slow["patient"]["careContacts"]["nodes"]}
    assert units == {"VC U"}


async def test_since_and_a_short_personnummer(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await rich_record(conn, w)
    since = (T0 - timedelta(days=4)).isoformat()
    short = w.patient.identifier[2:8] + "-" + w.patient.identifier[8:]
    slow, fast, _, _ = await both(conn, w.clinician(), {"personnummer": short, "since": since})
    assert fast == slow
    assert 0 < slow["patient"]["careContacts"]["totalCount"] < 10


async def test_other_principals(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await rich_record(conn, w)
    stranger_unit = await f.create_unit(conn, w.b, name="Annan")
    stranger = w.clinician(care_unit_hsa_id=stranger_unit.hsa_id, care_provider_hsa_id=w.b.hsa_id)
    patient = Principal(
        kind=PrincipalKind.PATIENT,
        subject=w.patient.identifier,
        purpose=Purpose.PATRQT,
        person_identifier=w.patient.identifier,
    )
    variables = {"personnummer": w.patient.identifier}
    for principal in (stranger, patient, ANONYMOUS, w.clinician(purpose=Purpose.ETREAT)):
        slow, fast, _, _ = await both(conn, principal, variables)
        assert fast == slow, principal


async def test_empty_record_protected_identity_and_unknown_patient(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    hidden = await f.create_patient(conn, protected_identity=True, deceased_on=T0.date())
    await f.create_care_relationship(conn, hidden, w.u)
    slow, fast, audit, _ = await both(conn, w.clinician(), {"personnummer": hidden.identifier})
    assert fast == slow
    assert slow["patient"]["protectedIdentity"] is True
    assert slow["patient"]["alerts"] == {"totalCount": 0, "nodes": []}
    # Nothing but the patient, and what the policy withholds (no consents: A4, A11).
    assert audit["disclosed"] == {
        str(hidden.id): [
            f"Patient:{hidden.id}",
            "Withheld:NO_CONSENT:ALERTS",
            "Withheld:NO_CONSENT:RECORDS",
            "Withheld:NO_NLL_CONSENT:MEDICATION",
        ]
    }
    assert [w["reason"] for w in slow["patient"]["withheld"]] == [
        "NO_NLL_CONSENT",
        "NO_CONSENT",
        "NO_CONSENT",
    ]
    unknown = f.personnummer()
    slow, fast, audit, statements = await both(conn, w.clinician(), {"personnummer": unknown})
    assert fast == slow == {"patient": None}
    assert statements == 1


async def test_bad_variables_go_to_the_graphql_path(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    for variables in ({}, {"personnummer": "1", "since": "yesterday"}, {"personnummer": "12"}):
        with pytest.raises(Decline):
            await run_planned(
                context(conn, w.clinician()), schema, SHIPPED.document, SHIPPED.name, variables
            )


async def test_patients_with_the_same_decision_share_one_plan(conn: AsyncConnection) -> None:
    """The second patient runs the plan built for the first (only the patient id is bound
    anew) and still gets exactly what the GraphQL path gives for them, not the first's rows."""
    from app.sqlplan import PLANS

    w = await build_world(conn)
    await rich_record(conn, w)
    other = await f.create_patient(conn)
    await f.create_care_relationship(conn, other, w.u)
    await f.create_care_contact(conn, other, w.u, event_time=T0, reason="Annat besvär")
    await f.create_alert(conn, other, w.u, condition_code="E11")
    # The first patient's block makes their decision differ; drop it from this comparison.
    plain = await f.create_patient(conn)
    await f.create_care_relationship(conn, plain, w.u)
    await f.create_diagnosis(conn, plain, w.u, event_time=T0, code="K35")
    answers = []
    sizes = []
    for person in (plain, other, plain):
        slow, fast, audit, _ = await both(conn, w.clinician(), {"personnummer": person.identifier})
        assert fast == slow
        assert list(audit["disclosed"]) == [str(person.id)]
        answers.append(fast)
        sizes.append(len(PLANS))
    assert sizes[1] == sizes[0] == sizes[2], "one plan for all three requests"
    assert answers[1]["patient"]["alerts"]["nodes"][0]["conditionCode"] == "E11"
    assert answers[0]["patient"]["diagnoses"]["nodes"][0]["code"] == "K35"
    assert answers[0] == answers[2]
