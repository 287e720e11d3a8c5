"""Upserts keyed on natural keys, so importing the same data twice writes no duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, literal_column, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

SELF_REFERENCES = {
    "care_contact": "care_contact_id",
    "prescription": "replaces_id",
    "dispensation": "reverses_id",
}


def referenced_first(table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that another row of the same table points at come before it (a replaced
    prescription before its replacement), so batches never break a self-reference."""
    column = SELF_REFERENCES.get(table)
    if column is None:
        return rows
    by_id = {r["id"]: r for r in rows}
    done: set[Any] = set()
    ordered: list[dict[str, Any]] = []

    def visit(row: dict[str, Any], depth: int = 0) -> None:
        if row["id"] in done:
            return
        done.add(row["id"])
        target = by_id.get(row[column])
        if target is not None and depth < len(rows):
            visit(target, depth + 1)
        ordered.append(row)

    for row in rows:
        visit(row)
    return ordered


async def upsert(
    conn: AsyncConnection, table: Table, key: Sequence[str], rows: list[dict[str, Any]]
) -> tuple[int, int]:
    """Insert or update `rows` on conflict of `key`; returns (created, updated).

    One compiled statement, executed for all rows (SQLAlchemy sends them as multi-row VALUES
    pages, in order, so a row that another points at is written first)."""
    if not rows:
        return 0, 0
    columns = [c.name for c in table.c]
    values = insert(table)
    keep = set(key) | {"id"}
    stmt: Any = values.on_conflict_do_update(
        index_elements=list(key),
        set_={c: values.excluded[c] for c in columns if c not in keep},
    ).returning(literal_column("(xmax = 0)").label("inserted"))
    params = [{c: r[c] for c in columns} for r in referenced_first(table.name, rows)]
    created = updated = 0
    for (inserted,) in await conn.execute(stmt, params):
        created += int(inserted)
        updated += int(not inserted)
    return created, updated


async def replace_children(
    conn: AsyncConnection,
    table: Table,
    parent_column: str,
    parents: list[tuple[Any, Any]],
    keep: set[Any],
) -> None:
    """Delete the children of these (patient_id, parent id) that the import no longer has."""
    if not parents:
        return
    await conn.execute(
        delete(table).where(
            tuple_(table.c.patient_id, table.c[parent_column]).in_(parents),
            table.c.id.not_in(keep) if keep else literal_column("true"),
        )
    )
