"""A15, research access beyond the first page and the first answer: sealed cursors that page to
the end and fit only their own study, record access only where the approval allows it, error
messages without real identifiers, and the FHIR REST API refused to research tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.cohort import published_total
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests import factories as f
from tests.integration.test_no_bypass import Record
from tests.integration.test_research_view import (
    CLIENT,
    KEY,
    OTHER_STUDY,
    STUDY,
    is_global_id,
    opted_in_record,
    real_values,
    research_client,
    research_settings,
    token,
)

__all__ = ["research_client", "research_settings"]  # fixtures

PAGE = """query($hsa: String!, $after: String) { careUnit(hsaId: $hsa) { careContacts(
  first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id } } } } }"""


async def more_contacts(conn: AsyncConnection, rec: Record, n: int) -> None:
    start = datetime(2024, 4, 1, 8, tzinfo=UTC)
    for i in range(n):
        await f.create_care_contact(conn, rec.patient, rec.unit, event_time=start + timedelta(i))


async def page(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    rec: Record,
    after: str | None,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": PAGE, "variables": {"hsa": rec.unit.hsa_id, "after": after}},
        headers=headers,
    )
    body: dict[str, Any] = response.json()
    return body


def contacts_of(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["careUnit"]["careContacts"]
    return found


async def test_a_research_client_pages_to_the_end_with_sealed_cursors(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn)
    await more_contacts(conn, rec, 6)  # seven in all: four pages of two
    seen: list[str] = []
    after: str | None = None
    pages = 0
    total = None
    while True:
        contacts = contacts_of(await page(research_client, token(research_settings), rec, after))
        pages += 1
        total = contacts["totalCount"]
        seen += [e["node"]["id"] for e in contacts["edges"]]
        for edge in contacts["edges"]:
            assert edge["cursor"].startswith("rc_") and not is_global_id(edge["cursor"])
        if not contacts["pageInfo"]["hasNextPage"]:
            break
        after = contacts["pageInfo"]["endCursor"]
        assert after is not None and after.startswith("rc_")
        assert pages < 10
    assert pages == 4
    assert len(seen) == 7
    # totalCount is published as a cohort count is: never off by more than the shift.
    assert total is not None and abs(total - 7) <= 2
    assert len(set(seen)) == len(seen)  # nothing repeated
    # An edge's cursor pages as well as endCursor does.
    first = contacts_of(await page(research_client, token(research_settings), rec, None))
    from_edge = await page(
        research_client, token(research_settings), rec, first["edges"][0]["cursor"]
    )
    assert contacts_of(from_edge)["edges"][0]["node"]["id"] == first["edges"][1]["node"]["id"]


async def test_a_cursor_of_another_study_or_altered_is_refused(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn)
    await more_contacts(conn, rec, 3)
    await f.create_research_study(conn, id=OTHER_STUDY, client_id=CLIENT, name="Andra")
    await f.create_consent(conn, rec.patient, "research", research_study_id=OTHER_STUDY)
    first = contacts_of(await page(research_client, token(research_settings), rec, None))
    cursor = first["pageInfo"]["endCursor"]
    # The other study's token, the same client, the same patient: FOREIGN_CURSOR.
    foreign = await page(research_client, token(research_settings, OTHER_STUDY), rec, cursor)
    assert [e["extensions"]["code"] for e in foreign["errors"]] == ["FOREIGN_CURSOR"]
    # One character changed inside the sealed part: BAD_CURSOR.
    altered = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    bad = await page(research_client, token(research_settings), rec, altered)
    assert [e["extensions"]["code"] for e in bad["errors"]] == ["BAD_CURSOR"]
    # A clinician's cursor (the sort key in the clear) is no research cursor either.
    await f.create_assignment(conn, rec.practitioner, rec.unit)
    clinician = mint(
        research_settings, kind="clinician", subject=rec.practitioner.hsa_id,
        care_unit=rec.unit.hsa_id, care_provider=rec.provider.hsa_id,
    )  # fmt: skip
    plain = contacts_of(
        await page(research_client, {"authorization": f"Bearer {clinician}"}, rec, None)
    )["pageInfo"]["endCursor"]
    assert plain is not None and not plain.startswith("rc_")
    refused = await page(research_client, token(research_settings), rec, plain)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["BAD_CURSOR"]
    assert (
        refused["data"]["careUnit"] is None or refused["data"]["careUnit"]["careContacts"] is None
    )


COHORT = """query($id: ID!) { study(id: $id) { name cohort(by: []) { total { display } } } }"""


async def test_record_access_needs_the_approval_cohort_counts_do_not(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn, allows_record_access=False)
    headers = token(research_settings)
    refused = await page(research_client, headers, rec, None)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["NOT_APPROVED"]
    assert refused["data"] is None
    # The same refusal whether or not there is anything to find.
    nobody = await research_client.post(
        "/graphql", json={"query": "{ patients { totalCount } }"}, headers=headers
    )
    assert [e["extensions"]["code"] for e in nobody.json()["errors"]] == ["NOT_APPROVED"]
    denials = await conn.execute(
        text(
            "SELECT count(*) FROM audit_entry WHERE principal_id = :c AND action = 'deny'"
            " AND reason LIKE '%does not allow record access%'"
        ),
        {"c": CLIENT},
    )
    assert denials.scalar_one() == 2
    # Cohort counts (and the schema) still answer.
    counts = await research_client.post(
        "/graphql",
        json={"query": COHORT, "variables": {"id": encode_id("ResearchStudy", STUDY)}},
        headers=headers,
    )
    assert counts.json()["data"] == {
        "study": {"name": "Teststudie", "cohort": {"total": {"display": "<5"}}}
    }


async def test_with_the_approval_records_are_read(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn, allows_record_access=True)
    allowed = contacts_of(await page(research_client, token(research_settings), rec, None))
    assert len(allowed["edges"]) == 1
    assert allowed["totalCount"] == 0  # one is under k: suppressed as a cohort cell is
    # The read is audited with the study and its ethics approval.
    reasons = await conn.execute(
        text("SELECT reason FROM audit_entry WHERE principal_id = :c AND patient_id = :p"),
        {"c": CLIENT, "p": rec.patient.id},
    )
    assert [r[0] for r in reasons] == [
        f"basis: research_consent; ResearchStudy:{STUDY}, EthicsApproval:Dnr 2024-00001-01"
    ]


async def test_error_messages_carry_no_real_identifier(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn)
    p = rec.patient
    patient_gid = encode_id("Patient", p.id)
    contact = next(iter(rec.gids_by_type["CareContact"]))
    bad_requests: list[dict[str, Any]] = [
        # Wrong types: graphql-core echoes the value it could not coerce.
        {"query": f'{{ careUnit(hsaId: "{rec.unit.hsa_id}") {{ careContacts(first: '
                  f'"{p.identifier}") {{ totalCount }} }} }}'},
        {"query": f'{{ node(id: {p.identifier}) {{ id }} }}'},
        {"query": "query($n: Int) { careUnit(hsaId: \"x\") { careContacts(first: $n) "
                  "{ totalCount } } }", "variables": {"n": f"{p.given_name} {p.family_name}"}},
        # Ids that do not fit where they are given.
        {"query": f'{{ careUnit(hsaId: "{rec.unit.hsa_id}") {{ careContacts(after: '
                  f'"{patient_gid}") {{ totalCount }} }} }}'},
        {"query": f'{{ careUnit(hsaId: "{rec.unit.hsa_id}") {{ careContacts(after: '
                  f'"{p.id}") {{ totalCount }} }} }}'},
        {"query": f'{{ careUnit(hsaId: "{rec.unit.hsa_id}") {{ {p.family_name} }} }}'},
        {"query": f'{{ patient(personnummer: "{p.identifier}") {{ id }} }}'},
    ]  # fmt: skip
    real = await real_values(conn) | {p.identifier, p.given_name, p.family_name, patient_gid}
    real |= {p.identifier[2:], f"{p.identifier[2:8]}-{p.identifier[8:]}", contact}
    errors = 0
    for request in bad_requests:
        response = await research_client.post(
            "/graphql", json=request, headers=token(research_settings)
        )
        body = response.json()
        assert body.get("errors"), (request, body)
        errors += len(body["errors"])
        dumped = orjson.dumps(body["errors"]).decode()
        leaked = sorted(v for v in real if v in dumped)
        assert leaked == [], (request["query"], leaked, dumped)
    assert errors >= len(bad_requests)


async def test_the_same_bad_request_names_the_value_to_a_clinician(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    """The rewriting is research's only: others' messages still say what was wrong."""
    rec = await opted_in_record(conn)
    system = mint(research_settings, kind="system", subject="integration")
    ask = (
        f'{{ careUnit(hsaId: "{rec.unit.hsa_id}") {{ careContacts(first: '
        f'"{rec.patient.identifier}") {{ totalCount }} }} }}'
    )
    response = await research_client.post(
        "/graphql", json={"query": ask}, headers={"authorization": f"Bearer {system}"}
    )
    assert rec.patient.identifier in orjson.dumps(response.json()["errors"]).decode()


async def test_the_fhir_rest_api_refuses_research_tokens(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    rec = await opted_in_record(conn)
    headers = token(research_settings) | {"accept": "application/fhir+json"}
    paths = [
        f"/fhir/Patient/{rec.patient.id}",
        f"/fhir/Patient?identifier={rec.patient.identifier}",
        f"/fhir/Encounter?patient={rec.patient.id}",
        f"/fhir/Patient/{rec.patient.id}/$everything",
    ]
    for path in paths:
        response = await research_client.get(path, headers=headers)
        assert response.status_code == 403, (path, response.text)
        issue = response.json()["issue"][0]
        assert issue["details"]["text"] == "FORBIDDEN"
        assert "GraphQL or the bulk export" in issue["diagnostics"]
        assert str(rec.patient.id) not in response.text
    denied = await conn.execute(
        text(
            "SELECT count(*) FROM audit_entry WHERE principal_id = :c AND action = 'deny'"
            " AND reason LIKE 'research tokens do not read through the FHIR REST API%'"
        ),
        {"c": CLIENT},
    )
    assert denied.scalar_one() == len(paths)
    # The capability statement stays public.
    metadata = await research_client.get("/fhir/metadata", headers=headers)
    assert metadata.status_code == 200


async def test_a_token_without_a_study_is_not_accepted(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    await opted_in_record(conn)
    claims: list[dict[str, Any]] = [
        {},
        {"study": "no-study"},
        {"study": encode_id("Patient", uuid.uuid4())},
    ]
    for claim in claims:
        minted = mint(research_settings, kind="research", subject=CLIENT, client_id=CLIENT, **claim)
        response = await research_client.post(
            "/graphql",
            json={"query": "{ patients { totalCount } }"},
            headers={"authorization": f"Bearer {minted}"},
        )
        assert response.status_code == 401, claim
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


DAY_COHORT = """query($id: ID!, $from: Date, $to: Date) { study(id: $id) {
  cohort(by: [], category: CARE_CONTACT, from: $from, to: $to) { total { display } } } }"""


async def test_cohort_periods_keep_to_the_studys_precision(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    """Counting one day's records would tell the day a study cut to the month is not told."""
    await opted_in_record(conn, allows_record_access=False)  # month precision, by default
    gid = encode_id("ResearchStudy", STUDY)

    async def ask(start: str, end: str) -> dict[str, Any]:
        response = await research_client.post(
            "/graphql",
            json={"query": DAY_COHORT, "variables": {"id": gid, "from": start, "to": end}},
            headers=token(research_settings),
        )
        body: dict[str, Any] = response.json()
        return body

    one_day = await ask("2024-03-01", "2024-03-02")
    assert [e["extensions"]["code"] for e in one_day["errors"]] == ["BAD_USER_INPUT"]
    assert one_day["errors"][0]["extensions"]["field"] == "to"
    a_month = await ask("2024-03-01", "2024-04-01")
    assert "errors" not in a_month, a_month
    assert a_month["data"]["study"]["cohort"]["total"] == {"display": "<5"}


async def test_research_total_counts_are_suppressed_and_perturbed_as_cohort_counts(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    """A15 (docs/privacy.md): counting a list is no way around the cohort counts' protection.
    A research client's totalCount is under k shown as 0, above it shifted as a cohort cell is,
    the same however the list is asked for; a clinician of the unit counts exactly."""
    rec = await opted_in_record(conn, allows_record_access=True)
    await more_contacts(conn, rec, 2)  # three: under k
    small = contacts_of(await page(research_client, token(research_settings), rec, None))
    assert len(small["edges"]) == 2 and small["totalCount"] == 0
    await more_contacts(conn, rec, 5)  # eight
    first = contacts_of(await page(research_client, token(research_settings), rec, None))
    after = first["pageInfo"]["endCursor"]
    later = contacts_of(await page(research_client, token(research_settings), rec, after))
    expected = published_total(KEY.encode(), STUDY, "CareContact", 8, 5)
    assert first["totalCount"] == later["totalCount"] == expected
    assert abs(expected - 8) <= 2 and expected >= 5
    # One contact fewer is another cell: its shift is not the one above (for this key and study).
    assert published_total(KEY.encode(), STUDY, "CareContact", 7, 5) - 7 != expected - 8
    # Care is not research: the unit's clinician sees the exact count.
    await f.create_assignment(conn, rec.practitioner, rec.unit)
    clinician = mint(
        research_settings, kind="clinician", subject=rec.practitioner.hsa_id,
        care_unit=rec.unit.hsa_id, care_provider=rec.provider.hsa_id,
    )  # fmt: skip
    exact = await page(research_client, {"authorization": f"Bearer {clinician}"}, rec, None)
    assert contacts_of(exact)["totalCount"] == 8


async def test_the_patient_list_pages_on_when_the_policy_leaves_every_row_out(
    research_client: httpx.AsyncClient, conn: AsyncConnection, research_settings: Settings
) -> None:
    # A research client never sees a Patient's identity, so `patients` shows no node; a page
    # the policy emptied must still carry a cursor to go on, or the client is stuck.
    rec = await opted_in_record(conn)
    for _ in range(2):
        other = await f.create_patient(conn)
        await f.create_consent(conn, other, "research", research_study_id=STUDY)
    query = """query($after: String) { patients(first: 1, after: $after) {
      nodes { id } pageInfo { hasNextPage endCursor } } }"""
    after: str | None = None
    cursors: list[str] = []
    for _ in range(10):
        body = (
            await research_client.post(
                "/graphql",
                json={"query": query, "variables": {"after": after}},
                headers=token(research_settings),
            )
        ).json()
        assert "errors" not in body, body
        found = body["data"]["patients"]
        assert found["nodes"] == []
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
        assert after is not None and after.startswith("rc_")  # sealed, as every research cursor
        cursors.append(after)
    else:
        raise AssertionError("the list never ended")
    assert len(cursors) == 2 and len(set(cursors)) == 2  # three patients, one a page
    assert rec.patient.identifier not in "".join(cursors)
