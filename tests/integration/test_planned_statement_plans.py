"""How PostgreSQL runs the planner's statements (docs/planner.md, "How PostgreSQL runs a
plan"): the generic plan of a shipped operation's statement, as a connection that has run it
five times keeps it, over the demo data and with the role's own token.

- A shared row (a care unit) named for each row of a list is looked up by its key, one row
  per row of the list: never a hash join over the whole shared table.
- A row of the patient named by another (a dispensation's `reverses`) is found by its
  primary key, not by filtering the patient's rows.
- A list read by its parent (a contact's diagnoses) is read by its index (migration 0024)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import Table, text

from app.sqlplan import PLANS, Plan
from resolvers.tables import DIAGNOSIS, DISPENSATION
from tests.integration.demo_support import Demo
from tests.integration.test_fused_reads import ask, client, shipped
from tests.integration.test_planned_bound_values import forget_plans, plans_of
from tests.integration.test_situation_matrix import ER_DOCTOR, PHARMACIST, TOLVAN


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


async def generic_plan(demo: Demo, operation: str, as_: str) -> dict[str, Any]:
    """The generic plan (EXPLAIN, JSON) of `operation`'s statement for Tolvan, as `as_`."""
    forget_plans(operation)
    async with client(demo.conn, demo.settings) as http:
        answer = await ask(http, demo, as_, shipped(operation, TOLVAN))
    assert "errors" not in answer.body, answer.body
    [key] = plans_of(operation)
    plan: Plan = PLANS._plans[key]
    plan = plan.written_in({name: 20 for name in plan.written})
    conn = demo.conn
    pid = (
        await conn.execute(text("SELECT id FROM patient WHERE identifier = :p"), {"p": TOLVAN})
    ).scalar()
    values = {slot.name: pid if slot.name == "pid" else "null" for slot in plan.slots}
    arguments = ", ".join(_literal(v) for v in plan.parameters(values))
    await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    await conn.exec_driver_sql(f"PREPARE planned AS {plan.sql}")
    try:
        found = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE planned({arguments})")
        explained = found.scalar()
    finally:
        await conn.exec_driver_sql("DEALLOCATE planned")
        await conn.exec_driver_sql("SET LOCAL plan_cache_mode = auto")
    assert explained is not None
    tree = orjson.loads(explained) if isinstance(explained, str) else explained
    root: dict[str, Any] = tree[0]["Plan"]
    return root


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from nodes(child)


def scans_of(node: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return [n for n in nodes(node) if n.get("Relation Name") == table]


async def test_a_lists_care_units_are_looked_up_row_by_row(demo: Demo) -> None:
    plan = await generic_plan(demo, "EmergencyOverview", ER_DOCTOR)
    assert scans_of(plan, "care_unit"), "EmergencyOverview names care units"
    hashed = [n for n in nodes(plan) if n["Node Type"] == "Hash"]
    assert not [h for h in hashed if scans_of(h, "care_unit")], "a hash of care units"
    assert all(n["Node Type"] == "Index Scan" for n in scans_of(plan, "care_unit"))


async def more_rows(demo: Demo, table: Table, copies: int) -> None:
    """Every row of `table` `copies` times more (new ids and document ids; none a reversal),
    and the table analysed as a thousand patients' (the benchmark's smallest data: tens of
    rows per patient), where the demo's few make any plan cheap. Rolled back with the test."""
    fresh = ("id", "document_id", "reverses_id")
    columns = [c.name for c in table.columns if c.name not in fresh]
    listed = ", ".join(columns)
    await demo.conn.exec_driver_sql(
        f"INSERT INTO {table.name} (id, document_id, {listed}) "
        f"SELECT gen_random_uuid(), left(document_id, 50) || '-' || g, {listed} "
        f"FROM {table.name}, generate_series(1, {copies}) AS g"
    )
    await demo.conn.exec_driver_sql(
        f"ALTER TABLE {table.name} ALTER COLUMN patient_id SET (n_distinct = 1000)"
    )
    await demo.conn.exec_driver_sql(f"ANALYZE {table.name}")


async def test_a_contacts_diagnoses_are_read_by_their_index(demo: Demo) -> None:
    await more_rows(demo, DIAGNOSIS, 40)
    plan = await generic_plan(demo, "EmergencyOverview", ER_DOCTOR)
    by_contact = [
        n
        for n in scans_of(plan, "diagnosis")
        if any("care_contact_id" in n.get(c, "") for c in ("Index Cond", "Filter", "Recheck Cond"))
    ]
    assert by_contact, "EmergencyOverview lists each contact's diagnoses"
    assert {n.get("Index Name") for n in by_contact} == {"ix_diagnosis_patient_care_contact_id"}


async def test_a_dispensations_reversal_is_found_by_its_primary_key(demo: Demo) -> None:
    await more_rows(demo, DISPENSATION, 40)
    plan = await generic_plan(demo, "PharmacyDispensing", PHARMACIST)
    reversals = [n for n in scans_of(plan, "dispensation") if n["Alias"].startswith("o")]
    assert reversals, "PharmacyDispensing asks for each dispensation's `reverses`"
    assert {n.get("Index Name") for n in reversals} == {"pk_dispensation"}, reversals
