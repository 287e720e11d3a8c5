"""N+1 freedom: the number of SQL statements depends on the shape of a query, not on how many
patients or rows it returns (Saleor's count_queries habit, with exact counts)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.policy import OpenPolicy
from tests import factories as f
from tests.sqlcount import count_statements, data_of

SELECTION = """
  id familyName
  careContacts { totalCount nodes { id status diagnoses { totalCount nodes { code } } } }
  prescriptions { nodes { drugName dispensations { totalCount nodes { amount } } } }
  alerts { nodes { alertType } }
  timeline(first: 10) { totalCount nodes { __typename id eventTime } }
"""
MANY = f"query($first: Int!) {{ patients(first: $first) {{ nodes {{ {SELECTION} }} }} }}"
ONE = f"query($p: String!) {{ patient(personnummer: $p) {{ {SELECTION} }} }}"

# patients: candidates, rows | careContacts, diagnoses | prescriptions, dispensations | alerts |
# timeline keys, then one statement per kind on its pages (5 kinds).
EXPECTED_MANY = 2 + 2 + 2 + 1 + 1 + 5
# patient(personnummer:): id by identifier, row.
EXPECTED_ONE = EXPECTED_MANY


@pytest.fixture
async def fifty(conn: AsyncConnection) -> list[Any]:
    provider = await f.create_provider(conn)
    unit = await f.create_unit(conn, provider)
    pharmacy = await f.create_unit(conn, provider, kind="pharmacy", name="Apoteket Test")
    patients = []
    for i in range(50):
        patient = await f.create_patient(conn, family_name=f"Batchsson{i:02d}")
        await f.create_nested_record(conn, patient, unit, pharmacy)
        patients.append(patient)
    return patients


async def _count(conn: AsyncConnection, query: str, variables: dict[str, Any], **kw: Any) -> int:
    async with count_statements(conn) as statements:
        data = await data_of(conn, query, variables, **kw)
    nodes = data["patients"]["nodes"] if "patients" in data else [data["patient"]]
    for node in nodes:  # the whole record arrived, or the count would prove nothing
        assert node["careContacts"]["totalCount"] == 2
        assert all(c["diagnoses"]["totalCount"] == 1 for c in node["careContacts"]["nodes"])
        assert node["prescriptions"]["nodes"][0]["dispensations"]["totalCount"] == 1
        assert node["timeline"]["totalCount"] == 7
    return len(statements)


async def test_one_and_fifty_patients_cost_the_same_statements(
    conn: AsyncConnection, fifty: list[Any]
) -> None:
    open_policy = OpenPolicy()
    one = await _count(conn, MANY, {"first": 1}, policy=open_policy)
    many = await _count(conn, MANY, {"first": 50}, policy=open_policy)
    assert one == many == EXPECTED_MANY
    single = await _count(conn, ONE, {"p": fifty[7].identifier}, policy=open_policy)
    assert single == EXPECTED_ONE


async def test_the_configured_policy_batches_too(conn: AsyncConnection, fifty: list[Any]) -> None:
    one = await _count(conn, MANY, {"first": 1})
    many = await _count(conn, MANY, {"first": 50})
    assert one == many


UNITS = """query($first: Int!) { patients(first: $first) { nodes {
  careContacts(first: 1) { nodes { careUnit { name careContacts(first: 2) {
    totalCount nodes { patient { familyName } } } } } } } } }"""


async def test_lists_that_span_patients_are_batched_too(conn: AsyncConnection) -> None:
    provider = await f.create_provider(conn)
    for i in range(6):
        unit = await f.create_unit(conn, provider, name=f"Enhet {i}")
        patient = await f.create_patient(conn, family_name=f"Enhetsson{i}")
        await f.create_care_contact(conn, patient, unit)
        await f.create_care_contact(conn, await f.create_patient(conn, family_name="Zz"), unit)
    open_policy = OpenPolicy()
    counts = []
    for first in (1, 6):
        async with count_statements(conn) as statements:
            data = await data_of(conn, UNITS, {"first": first}, policy=open_policy)
        units = [
            c["careUnit"] for p in data["patients"]["nodes"] for c in p["careContacts"]["nodes"]
        ]
        assert len(units) == first
        assert all(u["careContacts"]["totalCount"] == 2 for u in units)
        counts.append(len(statements))
    # patients: 2 | contacts | units | reverse page: candidates, rows | patients of the rows |
    # totalCount: distinct patients, count
    assert counts == [2 + 1 + 1 + 2 + 1 + 2] * 2
