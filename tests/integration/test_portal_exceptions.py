"""A10's exceptions, granted by the head of a unit: the child reads their own record from 13,
guardians keep reading from 13, guardians stop reading a child under 13; each for one unit's
records only, never items not approved for the patient. The policy (through DataAccess) and
the grantPortalException / revokePortalException mutations over HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests import factories as f
from tests.integration.privacy_world import (
    LAST_YEAR,
    NEXT_YEAR,
    NOW,
    aged,
    data_access,
    visible_ids,
)
from tests.integration.test_policy_a10_a16 import patient_principal, proxy_principal
from tests.integration.test_privacy_queries import gql, patient_token
from tests.sqlcount import count_statements

GRANT = """mutation($input: GrantPortalExceptionInput!) {
  grantPortalException(input: $input) {
    portalException { id kind grantedByHsaId reason active careUnit { hsaId } }
    userErrors { field code } } }"""
REVOKE = """mutation($id: ID!) {
  revokePortalException(input: {portalExceptionId: $id}) {
    portalException { revokedAt revokedByHsaId active } userErrors { field code } } }"""
LIST = """query($id: ID!) { patient(id: $id) { portalExceptions { nodes { kind } } } }"""
GIVE = """mutation($input: GiveConsentInput!) {
  giveConsent(input: $input) { consent { id } userErrors { code } } }"""
LOG = "{ myAccessLog { careUnitName } }"
READ = "query($id: ID!) { patient(id: $id) { familyName } }"


@dataclass
class Family:
    """A child with notes at two units of one provider (U: one approved for the patient, one
    not; V: one approved), care relationships with both, a guardian, and U's head."""

    a: models.CareProvider
    u: models.CareUnit
    v: models.CareUnit
    child: models.Patient
    guardian: models.Patient
    head: models.Practitioner
    docs: dict[str, uuid.UUID] = field(default_factory=dict)

    def names(self, seen: set[uuid.UUID]) -> set[str]:
        return {name for name, doc in self.docs.items() if doc in seen}


async def family(conn: AsyncConnection, age: int) -> Family:
    a = await f.create_provider(conn, name="Region A")
    u = await f.create_unit(conn, a, name="Ungdomsmottagning U")
    v = await f.create_unit(conn, a, name="Vårdcentral V")
    child = await f.create_patient(conn, birth_date=aged(age))
    guardian = await f.create_patient(conn, birth_date=aged(42))
    await f.create_representative(conn, child, guardian, "guardian")
    head = await f.create_unit_head(conn, u)
    fam = Family(a, u, v, child, guardian, head)
    for unit in (u, v):
        await f.create_care_relationship(conn, child, unit)
    fam.docs["u"] = (await f.create_clinical(conn, models.CareDocument, child, u)).id
    hidden = await f.create_clinical(
        conn, models.CareDocument, child, u, approved_for_patient=False
    )
    fam.docs["u_unapproved"] = hidden.id
    fam.docs["v"] = (await f.create_clinical(conn, models.CareDocument, child, v)).id
    return fam


async def child_sees(conn: AsyncConnection, fam: Family) -> set[str]:
    seen = await visible_ids(
        conn, patient_principal(fam.child), models.CareDocument, [fam.child.id]
    )
    return fam.names(seen)


async def guardian_sees(conn: AsyncConnection, fam: Family) -> set[str]:
    principal = proxy_principal(fam.guardian, fam.child)
    return fam.names(await visible_ids(conn, principal, models.CareDocument, [fam.child.id]))


# --- the child, 13-15 ---------------------------------------------------------------------


async def test_patient_exception_opens_only_its_units_approved_items(conn: AsyncConnection) -> None:
    fam = await family(conn, 14)
    assert await child_sees(conn, fam) == set()
    await f.create_portal_exception(conn, fam.child, "patient", fam.u)
    assert await child_sees(conn, fam) == {"u"}
    relations = await visible_ids(
        conn, patient_principal(fam.child), models.CareRelationship, [fam.child.id]
    )
    assert len(relations) == 1


@pytest.mark.parametrize(
    "dates",
    [{"valid_to": LAST_YEAR}, {"revoked_at": LAST_YEAR}, {"valid_from": NEXT_YEAR}],
    ids=["expired", "revoked", "not yet"],
)
async def test_patient_exception_out_of_date_does_not_count(
    conn: AsyncConnection, dates: dict[str, Any]
) -> None:
    fam = await family(conn, 14)
    await f.create_portal_exception(conn, fam.child, "patient", fam.u, **dates)
    assert await child_sees(conn, fam) == set()


async def test_patient_exception_counts_only_from_13(conn: AsyncConnection) -> None:
    fam = await family(conn, 13)
    young = await family(conn, 12)
    for member in (fam, young):
        await f.create_portal_exception(conn, member.child, "patient", member.u)
    assert await child_sees(conn, fam) == {"u"}
    assert await child_sees(conn, young) == set()


async def test_reading_by_exception_gives_no_say_over_the_record(conn: AsyncConnection) -> None:
    fam = await family(conn, 15)
    await f.create_portal_exception(conn, fam.child, "patient", fam.u)
    await f.create_consent(conn, fam.child, "svod_access", care_unit_id=fam.u.id)
    me = patient_principal(fam.child)
    for model in (models.Consent, models.Representative, models.PortalException):
        assert await visible_ids(conn, me, model, [fam.child.id]) == set()
    assert await visible_ids(conn, me, models.Patient, [fam.child.id]) == {fam.child.id}


async def test_power_of_attorney_does_not_borrow_the_childs_exception(
    conn: AsyncConnection,
) -> None:
    fam = await family(conn, 14)
    holder = await f.create_patient(conn, birth_date=aged(50))
    await f.create_representative(conn, fam.child, holder, "power_of_attorney")
    await f.create_portal_exception(conn, fam.child, "patient", fam.u)
    seen = await visible_ids(
        conn, proxy_principal(holder, fam.child), models.CareDocument, [fam.child.id]
    )
    assert seen == set()


# --- guardians, 13-17 ---------------------------------------------------------------------


@pytest.mark.parametrize("age", [13, 17])
async def test_guardian_exception_keeps_guardians_reading_one_unit(
    conn: AsyncConnection, age: int
) -> None:
    fam = await family(conn, age)
    assert await guardian_sees(conn, fam) == set()
    await f.create_portal_exception(conn, fam.child, "guardian", fam.u)
    assert await guardian_sees(conn, fam) == {"u"}


async def test_guardian_exception_revoked_or_for_the_child_does_not_count(
    conn: AsyncConnection,
) -> None:
    fam = await family(conn, 14)
    await f.create_portal_exception(conn, fam.child, "guardian", fam.u, revoked_at=LAST_YEAR)
    await f.create_portal_exception(conn, fam.child, "patient", fam.v)
    assert await guardian_sees(conn, fam) == set()


# --- guardians of a child under 13 ----------------------------------------------------------


async def test_deny_guardian_closes_one_unit_to_guardians(conn: AsyncConnection) -> None:
    fam = await family(conn, 8)
    assert await guardian_sees(conn, fam) == {"u", "v"}
    await f.create_portal_exception(conn, fam.child, "deny_guardian", fam.u)
    assert await guardian_sees(conn, fam) == {"v"}
    # Nor may the guardian learn that the child is in care at U, or that U closed it.
    principal = proxy_principal(fam.guardian, fam.child)
    relations = await visible_ids(conn, principal, models.CareRelationship, [fam.child.id])
    assert len(relations) == 1
    assert await visible_ids(conn, principal, models.PortalException, [fam.child.id]) == set()


async def test_deny_guardian_expired_or_from_13_does_not_count(conn: AsyncConnection) -> None:
    fam = await family(conn, 8)
    await f.create_portal_exception(conn, fam.child, "deny_guardian", fam.u, valid_to=LAST_YEAR)
    assert await guardian_sees(conn, fam) == {"u", "v"}
    older = await family(conn, 14)
    await f.create_portal_exception(conn, older.child, "deny_guardian", older.u)
    await f.create_portal_exception(conn, older.child, "guardian", older.u)
    assert await guardian_sees(conn, older) == {"u"}


# --- batching -------------------------------------------------------------------------------


async def test_person_decisions_cost_a_fixed_number_of_statements(conn: AsyncConnection) -> None:
    """A guardian of one child or of many: the exceptions come with the same fact statement."""
    fam = await family(conn, 14)
    await f.create_portal_exception(conn, fam.child, "guardian", fam.u)
    children = [fam.child]
    for age in (3, 8, 13, 14, 15, 16, 17):
        child = await f.create_patient(conn, birth_date=aged(age))
        await f.create_representative(conn, child, fam.guardian, "guardian")
        await f.create_portal_exception(conn, child, "guardian", fam.u)
        await f.create_portal_exception(conn, child, "deny_guardian", fam.v)
        children.append(child)
    counts, decided = [], {}
    for batch in ([fam.child], children):
        async with count_statements(conn) as statements:
            data = data_access(conn, proxy_principal(fam.guardian))
            decided = await data.access([p.id for p in batch])
        counts.append(len(statements))
    # The guardian's own patient row, the represented one (none named), the children's facts.
    assert counts[0] == counts[1] == 2
    assert sum(d.may_see_patient for d in decided.values()) == len(children)


# --- the log extract ------------------------------------------------------------------------


async def test_log_extract_of_a_guardian_leaves_out_the_closed_unit(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    fam = await family(conn, 8)
    await f.create_portal_exception(conn, fam.child, "deny_guardian", fam.u)
    at_v = await f.create_practitioner(conn)
    await f.create_assignment(conn, at_v, fam.v)
    pid = encode_id("Patient", fam.child.id)
    for practitioner, unit in ((fam.head, fam.u), (at_v, fam.v)):
        token = mint(
            settings,
            kind="clinician",
            subject=practitioner.hsa_id,
            care_unit=unit.hsa_id,
            care_provider=fam.a.hsa_id,
        )
        assert (await gql(client, READ, token, {"id": pid}))["data"]["patient"]
    guardian = mint(
        settings,
        kind="proxy",
        subject=fam.guardian.identifier,
        pnr=fam.guardian.identifier,
        represents=fam.child.identifier,
    )
    log = await gql(client, LOG, guardian)
    assert [e["careUnitName"] for e in log["data"]["myAccessLog"]] == ["Vårdcentral V"]


# --- the mutations --------------------------------------------------------------------------


def head_token(settings: Settings, fam: Family, **kw: Any) -> str:
    claims: dict[str, Any] = {
        "care_unit": fam.u.hsa_id,
        "care_provider": fam.a.hsa_id,
        "role": "verksamhetschef",
    } | kw
    return mint(settings, kind="clinician", subject=fam.head.hsa_id, **claims)


def grant_input(fam: Family, kind: str = "PATIENT", **kw: Any) -> dict[str, Any]:
    return {
        "input": {
            "patientId": encode_id("Patient", fam.child.id),
            "kind": kind,
            "reason": "Tillräckligt mogen att själv läsa sin journal",
        }
        | kw
    }


def payload(response: dict[str, Any], name: str) -> dict[str, Any]:
    assert "errors" not in response, response
    result: dict[str, Any] = response["data"][name]
    return result


def code_of(response: dict[str, Any]) -> str:
    return str(response["errors"][0]["extensions"]["code"])


async def rows_of(conn: AsyncConnection, fam: Family) -> int:
    found = await conn.execute(
        text("SELECT count(*) FROM portal_access_exception WHERE patient_id = :p"),
        {"p": fam.child.id},
    )
    return int(found.scalar_one())


async def test_unit_head_grants_and_revokes_and_both_are_audited(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    fam = await family(conn, 14)
    token = head_token(settings, fam)
    granted = payload(await gql(client, GRANT, token, grant_input(fam)), "grantPortalException")
    assert granted["userErrors"] == []
    exception = granted["portalException"]
    assert exception | {"id": None} == {
        "id": None,
        "kind": "PATIENT",
        "grantedByHsaId": fam.head.hsa_id,
        "reason": "Tillräckligt mogen att själv läsa sin journal",
        "active": True,
        "careUnit": {"hsaId": fam.u.hsa_id},
    }
    assert await child_sees(conn, fam) == {"u"}
    listed = await gql(client, LIST, token, {"id": encode_id("Patient", fam.child.id)})
    assert listed["data"]["patient"]["portalExceptions"]["nodes"] == [{"kind": "PATIENT"}]

    revoked = payload(
        await gql(client, REVOKE, token, {"id": exception["id"]}), "revokePortalException"
    )
    assert revoked["portalException"]["revokedByHsaId"] == fam.head.hsa_id
    assert revoked["portalException"]["active"] is False
    assert await child_sees(conn, fam) == set()
    again = payload(
        await gql(client, REVOKE, token, {"id": exception["id"]}), "revokePortalException"
    )
    assert again["userErrors"] == [{"field": "input.portalExceptionId", "code": "INVALID_STATE"}]
    writes = await conn.execute(
        text("SELECT resources->>0 FROM audit_entry WHERE patient_id = :p AND action = 'write'"),
        {"p": fam.child.id},
    )
    assert [r[0].split(":")[0] for r in writes] == ["PortalException", "PortalException"]


async def test_guardian_and_deny_guardian_exceptions_by_mutation(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    teen, young = await family(conn, 16), await family(conn, 9)
    keep = await gql(client, GRANT, head_token(settings, teen), grant_input(teen, "GUARDIAN"))
    assert payload(keep, "grantPortalException")["userErrors"] == []
    assert await guardian_sees(conn, teen) == {"u"}
    close = await gql(
        client, GRANT, head_token(settings, young), grant_input(young, "DENY_GUARDIAN")
    )
    assert payload(close, "grantPortalException")["userErrors"] == []
    assert await guardian_sees(conn, young) == {"v"}


async def test_only_the_head_of_the_unit_may_grant(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    fam = await family(conn, 14)
    doctor = await f.create_practitioner(conn)
    await f.create_assignment(conn, doctor, fam.u)
    not_head = mint(
        settings,
        kind="clinician",
        subject=doctor.hsa_id,
        care_unit=fam.u.hsa_id,
        care_provider=fam.a.hsa_id,
        role="läkare",
    )
    assert code_of(await gql(client, GRANT, not_head, grant_input(fam))) == "FORBIDDEN"
    # The head's role claim without an assignment as that person at the unit is nothing (A1).
    pretender = mint(
        settings,
        kind="clinician",
        subject=doctor.hsa_id,
        care_unit=fam.v.hsa_id,
        care_provider=fam.a.hsa_id,
        role="verksamhetschef",
    )
    refused = payload(await gql(client, GRANT, pretender, grant_input(fam)), "grantPortalException")
    assert refused["userErrors"] == [{"field": "input.patientId", "code": "NOT_FOUND"}]
    assert await rows_of(conn, fam) == 0
    denials = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE patient_id = :p AND outcome = 'denied'"),
        {"p": fam.child.id},
    )
    assert denials.scalar_one() >= 2


async def test_patients_and_guardians_may_not_grant(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    teen, young = await family(conn, 16), await family(conn, 8)
    own = await gql(client, GRANT, patient_token(settings, teen.child), grant_input(teen))
    assert code_of(own) == "FORBIDDEN"
    guardian = mint(
        settings,
        kind="proxy",
        subject=young.guardian.identifier,
        pnr=young.guardian.identifier,
        represents=young.child.identifier,
    )
    closing = grant_input(young, "DENY_GUARDIAN")
    assert code_of(await gql(client, GRANT, guardian, closing)) == "FORBIDDEN"
    assert await rows_of(conn, teen) == await rows_of(conn, young) == 0


async def test_a_head_grants_and_revokes_for_their_own_unit_only(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    fam = await family(conn, 14)
    head_of_v = await f.create_unit_head(conn, fam.v)
    other = mint(
        settings,
        kind="clinician",
        subject=head_of_v.hsa_id,
        care_unit=fam.v.hsa_id,
        care_provider=fam.a.hsa_id,
        role="verksamhetschef",
    )
    for_u = grant_input(fam, careUnitHsaId=fam.u.hsa_id)
    assert code_of(await gql(client, GRANT, other, for_u)) == "FORBIDDEN"
    granted = await gql(client, GRANT, head_token(settings, fam), for_u)
    exception_id = payload(granted, "grantPortalException")["portalException"]["id"]
    refused = payload(
        await gql(client, REVOKE, other, {"id": exception_id}), "revokePortalException"
    )
    assert refused["userErrors"] == [{"field": "input.portalExceptionId", "code": "NOT_FOUND"}]
    assert await child_sees(conn, fam) == {"u"}


async def test_a_non_head_may_not_revoke(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    fam = await family(conn, 14)
    exception = await f.create_portal_exception(conn, fam.child, "patient", fam.u)
    gid = encode_id("PortalException", exception.id, fam.child.id)
    nurse = head_token(settings, fam, role="sjuksköterska")
    assert code_of(await gql(client, REVOKE, nurse, {"id": gid})) == "FORBIDDEN"
    assert await child_sees(conn, fam) == {"u"}


async def test_grant_input_is_checked(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    fam = await family(conn, 17)
    token = head_token(settings, fam)
    cases = [
        (grant_input(fam, reason="  "), [{"field": "input.reason", "code": "INVALID_VALUE"}]),
        (grant_input(fam), [{"field": "input.kind", "code": "INVALID_VALUE"}]),
        (
            grant_input(fam, "GUARDIAN", validFrom=NOW.isoformat(), validTo=LAST_YEAR.isoformat()),
            [{"field": "input.validTo", "code": "INVALID_DATE_ORDER"}],
        ),
    ]
    for variables, problems in cases:
        refused = payload(await gql(client, GRANT, token, variables), "grantPortalException")
        assert refused["userErrors"] == problems, variables
    assert await rows_of(conn, fam) == 0


async def test_reading_by_exception_may_not_give_consent(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    fam = await family(conn, 14)
    await f.create_portal_exception(conn, fam.child, "patient", fam.u)
    consent = {
        "patientId": encode_id("Patient", fam.child.id),
        "kind": "SVOD_ACCESS",
        "careUnitHsaId": fam.u.hsa_id,
    }
    refused = await gql(client, GIVE, patient_token(settings, fam.child), {"input": consent})
    assert code_of(refused) == "FORBIDDEN"
