"""Relay connections: page sizes, keyset cursors, totals, filters and nullified items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from app.tokens import mint
from tests import factories as f
from tests.sqlcount import data_of, execute

CONTACTS = """
query($p: String!, $first: Int, $after: String, $filter: CareContactFilter, $nul: Boolean!) {
  patient(personnummer: $p) {
    careContacts(first: $first, after: $after, filter: $filter, includeNullified: $nul) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id reason } }
      nodes { reason }
    }
  }
}
"""
START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def record(conn: AsyncConnection) -> dict[str, Any]:
    """Seven contacts a day apart (c0 oldest ... c6 newest), plus one nullified contact."""
    provider = await f.create_provider(conn)
    unit = await f.create_unit(conn, provider)
    other_unit = await f.create_unit(conn, provider, name="Akuten")
    patient = await f.create_patient(conn)
    for i in range(7):
        await f.create_care_contact(
            conn,
            patient,
            other_unit if i == 3 else unit,
            event_time=START + timedelta(days=i),
            period_end=START + timedelta(days=i, hours=1),
            reason=f"c{i}",
            contact_type="telefon" if i % 2 else "besok",
            status="pagaende" if i == 6 else "avslutad",
        )
    await f.create_care_contact(
        conn,
        patient,
        unit,
        event_time=START + timedelta(days=2, hours=5),
        reason="wrong patient",
        nullified=True,
        nullified_reason="Fel patient",
    )
    return {"patient": patient, "unit": unit, "other_unit": other_unit}


async def _contacts(conn: AsyncConnection, record: dict[str, Any], **args: Any) -> Any:
    variables = {"p": record["patient"].identifier, "nul": False} | args
    return (await data_of(conn, CONTACTS, variables))["patient"]["careContacts"]


async def test_pages_walk_the_whole_list_newest_first(
    conn: AsyncConnection, record: dict[str, Any]
) -> None:
    seen: list[str] = []
    after = None
    for expected_next in (True, True, True, False):
        page = await _contacts(conn, record, first=2, after=after)
        assert page["totalCount"] == 7
        assert page["pageInfo"]["hasNextPage"] is expected_next
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert [e["node"]["reason"] for e in page["edges"]] == [n["reason"] for n in page["nodes"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        seen += [n["reason"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
    assert seen == ["c6", "c5", "c4", "c3", "c2", "c1", "c0"]


async def test_default_page_size_is_twenty(conn: AsyncConnection) -> None:
    provider = await f.create_provider(conn)
    unit = await f.create_unit(conn, provider)
    patient = await f.create_patient(conn)
    for i in range(21):
        await f.create_care_contact(conn, patient, unit, event_time=START + timedelta(hours=i))
    query = "query($p: String!) { patient(personnummer: $p) { careContacts { totalCount "
    query += "pageInfo { hasNextPage } nodes { id } } } }"
    page = (await data_of(conn, query, {"p": patient.identifier}))["patient"]["careContacts"]
    assert (len(page["nodes"]), page["totalCount"], page["pageInfo"]["hasNextPage"]) == (
        20,
        21,
        True,
    )


async def test_a_cursor_is_a_key_not_an_offset(
    conn: AsyncConnection, record: dict[str, Any]
) -> None:
    first = await _contacts(conn, record, first=2)
    # A newer contact arrives before the next page is read: the next page does not shift.
    provider = await f.create_provider(conn)
    unit = await f.create_unit(conn, provider)
    await f.create_care_contact(
        conn, record["patient"], unit, event_time=START + timedelta(days=30), reason="new"
    )
    second = await _contacts(conn, record, first=2, after=first["pageInfo"]["endCursor"])
    assert [n["reason"] for n in second["nodes"]] == ["c4", "c3"]


async def test_after_the_last_item_is_an_empty_page_that_still_counts(
    conn: AsyncConnection, record: dict[str, Any]
) -> None:
    everything = await _contacts(conn, record, first=7)
    page = await _contacts(conn, record, first=5, after=everything["pageInfo"]["endCursor"])
    assert page["nodes"] == []
    assert page["totalCount"] == 7
    assert page["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


async def test_first_zero_returns_only_counts(
    conn: AsyncConnection, record: dict[str, Any]
) -> None:
    page = await _contacts(conn, record, first=0)
    assert page["nodes"] == []
    assert page["totalCount"] == 7
    assert page["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    ("first", "code"), [(101, "PAGE_SIZE_EXCEEDED"), (1000, "PAGE_SIZE_EXCEEDED"), (-1, None)]
)
async def test_page_size_limits_are_errors_not_truncation(
    conn: AsyncConnection, record: dict[str, Any], first: int, code: str | None
) -> None:
    result = await execute(
        conn, CONTACTS, {"p": record["patient"].identifier, "first": first, "nul": False}
    )
    assert result.errors is not None
    error = result.errors[0]
    original = error.original_error
    assert getattr(original, "code", None) == (code or "BAD_USER_INPUT")
    assert error.path == ["patient", "careContacts"]


async def test_exactly_one_hundred_is_allowed(
    conn: AsyncConnection, record: dict[str, Any]
) -> None:
    assert len((await _contacts(conn, record, first=100))["nodes"]) == 7


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJQYXRpZW50IiwiYSIsImIiLCJjIl0"])
async def test_foreign_or_broken_cursors_are_bad_input(
    conn: AsyncConnection, record: dict[str, Any], cursor: str
) -> None:
    result = await execute(
        conn, CONTACTS, {"p": record["patient"].identifier, "after": cursor, "nul": False}
    )
    assert result.errors is not None
    assert getattr(result.errors[0].original_error, "code", None) == "BAD_USER_INPUT"


async def test_nullified_items_are_hidden_unless_asked_for(
    conn: AsyncConnection, record: dict[str, Any]
) -> None:
    hidden = await _contacts(conn, record, first=20)
    assert "wrong patient" not in [n["reason"] for n in hidden["nodes"]]
    shown = await _contacts(conn, record, first=20, nul=True)
    assert shown["totalCount"] == 8
    assert [n["reason"] for n in shown["nodes"]][4] == "wrong patient"


async def test_contact_filters(conn: AsyncConnection, record: dict[str, Any]) -> None:
    async def reasons(filter: dict[str, Any]) -> list[str]:
        page = await _contacts(conn, record, first=20, filter=filter)
        assert page["totalCount"] == len(page["nodes"])
        return [n["reason"] for n in page["nodes"]]

    assert await reasons({"types": ["TELEFON"]}) == ["c5", "c3", "c1"]
    assert await reasons({"statuses": ["PAGAENDE"]}) == ["c6"]
    assert await reasons({"careUnitHsaIds": [record["other_unit"].hsa_id]}) == ["c3"]
    unit_id = (
        await data_of(
            conn,
            "query($h: String!) { careUnit(hsaId: $h) { id } }",
            {"h": record["other_unit"].hsa_id},
        )
    )["careUnit"]["id"]
    assert await reasons({"careUnitIds": [unit_id]}) == ["c3"]
    # A contact matches a period it overlaps: c2 runs 08:00-09:00 on day 2.
    day2 = START + timedelta(days=2)
    period = {"start": (day2 + timedelta(minutes=30)).isoformat(), "end": None}
    assert await reasons({"period": period, "types": ["BESOK"]}) == ["c6", "c4", "c2"]
    period = {"start": None, "end": (START + timedelta(days=1)).isoformat()}
    assert await reasons({"period": period}) == ["c0"]


async def test_a_filter_with_the_wrong_kind_of_id_is_bad_input(
    conn: AsyncConnection, record: dict[str, Any]
) -> None:
    patient_id = (
        await data_of(
            conn,
            "query($p: String!) { patient(personnummer: $p) { id } }",
            {"p": record["patient"].identifier},
        )
    )["patient"]["id"]
    result = await execute(
        conn,
        CONTACTS,
        {"p": record["patient"].identifier, "nul": False, "filter": {"careUnitIds": [patient_id]}},
    )
    assert result.errors is not None
    assert getattr(result.errors[0].original_error, "code", None) == "BAD_USER_INPUT"


async def test_over_http_the_error_code_is_in_extensions(
    client: httpx.AsyncClient, settings: Settings, record: dict[str, Any]
) -> None:
    token = mint(settings, kind="system", subject="lists-test")
    response = await client.post(
        "/graphql",
        json={
            "query": CONTACTS,
            "variables": {"p": record["patient"].identifier, "first": 500, "nul": False},
        },
        headers={"authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert body["data"] == {"patient": None}
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"
    assert body["errors"][0]["extensions"]["maximum"] == 100
    assert body["errors"][0]["path"] == ["patient", "careContacts"]
