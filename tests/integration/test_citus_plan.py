"""The Citus plan (citus/prepare.sql, citus/distribute.sql) against the catalog of plain
PostgreSQL: prepare.sql runs (rolled back after the test), then every table is named once, and
what Citus requires of distributed and reference tables holds, so that the plan would not be
refused table by table on a real cluster."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CITUS = Path(__file__).resolve().parents[2] / "citus"
PLAN = (CITUS / "distribute.sql").read_text()
DISTRIBUTED = re.compile(
    r"create_distributed_table\('(\w+)', '(\w+)'(?:, colocate_with => '(\w+)')?\)"
)
REFERENCE = re.compile(r"create_reference_table\('(\w+)'\)")
LOCAL = re.compile(r"^-- local: (\w+)$", re.MULTILINE)
# Tables with a patient_id that stay off the shards, on purpose (docs/data-model.md): the
# audit trail (local) and identifiers unique across patients (reference).
PATIENT_DATA_NOT_DISTRIBUTED = {"audit_entry", "patient_identifier"}


@dataclass(frozen=True)
class Plan:
    distributed: dict[str, str]  # table -> distribution column
    colocated_with: dict[str, str | None]
    reference: set[str]
    local: set[str]

    def kind(self, table: str) -> str:
        if table in self.distributed:
            return "distributed"
        return "reference" if table in self.reference else "local"


def plan() -> Plan:
    found = DISTRIBUTED.findall(PLAN)
    return Plan(
        distributed={t: column for t, column, _ in found},
        colocated_with={t: with_ or None for t, _, with_ in found},
        reference=set(REFERENCE.findall(PLAN)),
        local=set(LOCAL.findall(PLAN)),
    )


@pytest.fixture
async def prepared(conn: AsyncConnection) -> AsyncConnection:
    """The migrated schema after citus/prepare.sql (in the test's transaction)."""
    script = (CITUS / "prepare.sql").read_text()
    body = re.sub(r"^--.*$", "", script, flags=re.MULTILINE)
    for statement in body.split(";"):
        if statement.strip() and statement.strip().upper() not in {"BEGIN", "COMMIT"}:
            await conn.execute(text(statement))
    return conn


async def _tables(conn: AsyncConnection) -> set[str]:
    rows = await conn.execute(
        text(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " AND relkind IN ('r', 'p') AND NOT relispartition"
        )
    )
    return {r[0] for r in rows}


async def _columns_of(conn: AsyncConnection, table: str) -> set[str]:
    rows = await conn.execute(
        text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass)"
            " AND attnum > 0 AND NOT attisdropped"
        ),
        {"t": table},
    )
    return {r[0] for r in rows}


async def _unique_keys(conn: AsyncConnection) -> list[tuple[str, str, list[str]]]:
    """(table, index, its columns in order) of every primary key and unique index."""
    rows = await conn.execute(
        text(
            "SELECT t.relname, i.relname, array_agg(a.attname ORDER BY k.ord)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_class t ON t.oid = x.indrelid"
            " CROSS JOIN unnest(x.indkey) WITH ORDINALITY k(attnum, ord)"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
            " WHERE t.relnamespace = 'public'::regnamespace AND x.indisunique"
            " AND NOT t.relispartition GROUP BY t.relname, i.relname"
        )
    )
    return [(t, i, list(cols)) for t, i, cols in rows]


async def _foreign_keys(conn: AsyncConnection) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """(name, table, referenced table, [(column, referenced column)]) of every foreign key."""
    rows = await conn.execute(
        text(
            "SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,"
            " array_agg(a.attname ORDER BY k.ord), array_agg(f.attname ORDER BY k.ord)"
            " FROM pg_constraint c"
            " CROSS JOIN unnest(c.conkey, c.confkey) WITH ORDINALITY k(col, ref, ord)"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col"
            " JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = k.ref"
            " JOIN pg_class t ON t.oid = c.conrelid"
            " WHERE c.contype = 'f' AND t.relnamespace = 'public'::regnamespace"
            " AND NOT t.relispartition"
            " GROUP BY c.conname, c.conrelid, c.confrelid"
        )
    )
    return [(n, t, r, list(zip(cols, refs, strict=True))) for n, t, r, cols, refs in rows]


def test_the_plan_names_every_table_once() -> None:
    the_plan = plan()
    named = (
        [t for t, *_ in DISTRIBUTED.findall(PLAN)] + REFERENCE.findall(PLAN) + LOCAL.findall(PLAN)
    )
    assert len(named) == len(set(named)), "a table is named twice"
    assert the_plan.distributed["patient"] == "id"
    for table, with_ in the_plan.colocated_with.items():
        if the_plan.distributed[table] == "patient_id":
            assert with_ == "patient", f"{table} is not co-located with patient"


async def test_every_table_of_the_schema_is_in_the_plan(prepared: AsyncConnection) -> None:
    the_plan = plan()
    named = set(the_plan.distributed) | the_plan.reference | the_plan.local
    missing = await _tables(prepared) - named
    assert not missing, f"name these tables in citus/distribute.sql: {sorted(missing)}"
    assert named <= await _tables(prepared), "citus/distribute.sql names a table that is gone"


async def test_patient_data_is_distributed_by_patient(prepared: AsyncConnection) -> None:
    the_plan = plan()
    for table in await _tables(prepared):
        if "patient_id" in await _columns_of(prepared, table) and table != "patient":
            if table in PATIENT_DATA_NOT_DISTRIBUTED:
                assert table not in the_plan.distributed
            else:
                assert the_plan.distributed.get(table) == "patient_id", table


async def test_keys_of_distributed_tables_lead_with_the_distribution_column(
    prepared: AsyncConnection,
) -> None:
    the_plan = plan()
    wrong = [
        (table, index, columns)
        for table, index, columns in await _unique_keys(prepared)
        if table in the_plan.distributed and columns[0] != the_plan.distributed[table]
    ]
    assert wrong == []


async def test_foreign_keys_are_ones_citus_keeps(prepared: AsyncConnection) -> None:
    """Between distributed tables: the distribution columns pair up (co-located rows). A
    reference table points only at reference tables; nothing points at a distributed table
    from outside the shards."""
    the_plan = plan()
    wrong = []
    for name, table, target, pairs in await _foreign_keys(prepared):
        kinds = (the_plan.kind(table), the_plan.kind(target))
        if kinds == ("distributed", "distributed"):
            pair = (the_plan.distributed[table], the_plan.distributed[target])
            if pair not in pairs:
                wrong.append(name)
        elif kinds[1] == "distributed" or kinds == ("reference", "local"):
            wrong.append(name)
    assert wrong == []


async def test_without_prepare_the_plan_would_be_refused(conn: AsyncConnection) -> None:
    """What prepare.sql changes is exactly what the checks above would find."""
    the_plan = plan()
    crossing = [
        name
        for name, table, target, pairs in await _foreign_keys(conn)
        if the_plan.kind(target) == "distributed"
        and (
            the_plan.kind(table) != "distributed"
            or (the_plan.distributed[table], the_plan.distributed[target]) not in pairs
        )
    ]
    assert sorted(crossing) == [
        "fk_patient_identifier_patient_id_patient",
        "fk_representative_representative_patient_id_patient",
    ]
    keys = [
        index
        for table, index, columns in await _unique_keys(conn)
        if table in the_plan.distributed and columns[0] != the_plan.distributed[table]
    ]
    assert sorted(keys) == ["pk_change_log", "pk_fhir_preserved", "uq_patient_identifier"]
