"""Migrations: empty -> head -> base -> head, and the models agree with the migrations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import text

from app import migrate
from app.db import create_engine


async def _tables(url: str) -> set[str]:
    engine = create_engine(url, pool_size=1)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        names = {r[0] for r in rows}
    await engine.dispose()
    return names


def test_upgrade_downgrade_upgrade(fresh_database: Callable[[], str]) -> None:
    # Sync test: Alembic runs its own event loop.
    url = fresh_database()
    migrate.upgrade(url)
    assert {"patient", "care_contact", "prescription", "audit_entry"} <= asyncio.run(_tables(url))
    migrate.downgrade(url, "base")
    assert asyncio.run(_tables(url)) <= {"alembic_version"}
    migrate.upgrade(url)
    assert "municipal_decision" in asyncio.run(_tables(url))


async def test_models_match_migrations(conn) -> None:  # type: ignore[no-untyped-def]
    differences = await conn.run_sync(migrate.model_differences)
    assert differences == []


async def test_database_is_at_head(conn) -> None:  # type: ignore[no-untyped-def]
    assert await conn.run_sync(migrate.current_revision) == migrate.head_revision()


async def test_audit_table_is_append_only(conn) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from sqlalchemy.exc import DBAPIError

    await conn.execute(
        text(
            "INSERT INTO audit_entry (occurred_at, principal_kind, principal_id, action,"
            " resources, outcome, review_required, prev_hash, hash)"
            " VALUES (now(), 'system', 'x', 'read', '[]', 'disclosed', false, 'a', 'b')"
        )
    )
    for statement in ("UPDATE audit_entry SET outcome = 'x'", "DELETE FROM audit_entry"):
        savepoint = await conn.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            await conn.execute(text(statement))
        await savepoint.rollback()


def test_0008_turns_foreign_reservnummer_into_external_identifiers(
    fresh_database: Callable[[], str],
) -> None:
    # Before 0008 a FHIR import stored an MRN as a reservnummer "issued" by the system's URI.
    url = fresh_database()
    migrate.upgrade(url, "0007")

    async def run(sql: str) -> list[tuple[object, ...]]:
        engine = create_engine(url, pool_size=1)
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            rows = [tuple(r) for r in result] if result.returns_rows else []
        await engine.dispose()
        return rows

    asyncio.run(
        run(
            "INSERT INTO patient (id, identifier_kind, identifier, reserve_issuer, given_name,"
            " family_name, birth_date, sex, protected_identity, created_at, updated_at, version)"
            " VALUES ('00000000-0000-4000-8000-0000000000a1', 'reservnummer', '12345',"
            " 'urn:oid:1.2.36.146.595.217.0.1', 'Peter', 'Chalmers', '1974-12-25', 'male', false,"
            " now(), now(), 1), ('00000000-0000-4000-8000-0000000000a2', 'reservnummer', 'R-77',"
            " 'Region Uppsala', 'Ada', 'Berg', '1990-01-01', 'female', false, now(), now(), 1)"
        )
    )
    migrate.upgrade(url)
    kinds = asyncio.run(run("SELECT identifier, identifier_kind, reserve_issuer FROM patient"))
    assert sorted(kinds) == [
        ("12345", "external", None),
        ("R-77", "reservnummer", "Region Uppsala"),  # a real reservnummer stays one
    ]
    held = asyncio.run(run("SELECT system, value FROM patient_identifier"))
    assert held == [("urn:oid:1.2.36.146.595.217.0.1", "12345")]
    migrate.downgrade(url, "0007")
    back = asyncio.run(run("SELECT identifier, identifier_kind, reserve_issuer FROM patient"))
    assert ("12345", "reservnummer", "urn:oid:1.2.36.146.595.217.0.1") in back
