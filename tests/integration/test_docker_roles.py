"""The compose file's database roles on a real PostgreSQL: docker/initdb's SQL creates them,
migrations run as the owner (no superuser), and the API's role (no superuser) serves a
patient's own record, writes its audit entries, and may not change them."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app import migrate
from app.db import PooledDatabase, create_engine, to_plain_url
from app.main import create_app
from app.settings import Settings
from app.tokens import mint
from tests.conftest import TEST_SECRET
from tests.factories import create_patient

INITDB = Path(__file__).resolve().parents[2] / "docker" / "initdb" / "10-vardkedja-roles.sh"


def initdb_statements(suffix: str, passwords: dict[str, str]) -> list[str]:
    """The SQL of the init script, one statement a line, with this test's role names."""
    sql = INITDB.read_text().split("<<'SQL'\n", 1)[1].split("\nSQL\n", 1)[0]
    for variable, value in passwords.items():
        sql = sql.replace(f":'{variable}'", f"'{value}'")
    sql = re.sub(r"\bvardkedja_(owner|app)\b", rf"vardkedja_\1_{suffix}", sql)
    sql = re.sub(r"DATABASE vardkedja\b", f"DATABASE vardkedja_{suffix}", sql)
    return [line for line in sql.splitlines() if line.strip()]


def _url(server_url: str, user: str, database: str) -> str:
    url = make_url(to_plain_url(server_url)).set(username=user, password=None, database=database)
    return url.render_as_string(hide_password=False)


async def _run(url: str, statements: list[str]) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def roles(server_url: str) -> Iterator[tuple[str, str]]:
    """(owner URL, app URL) of a database made by the init script's SQL."""
    suffix = uuid.uuid4().hex[:8]
    statements = initdb_statements(suffix, {"owner_password": "o-pw", "app_password": "a-pw"})
    assert all(s.endswith(";") for s in statements), "one statement a line, please"
    admin = to_plain_url(server_url)
    asyncio.run(_run(admin, statements))
    database = f"vardkedja_{suffix}"
    try:
        yield (
            _url(server_url, f"vardkedja_owner_{suffix}", database),
            _url(server_url, f"vardkedja_app_{suffix}", database),
        )
    finally:
        asyncio.run(
            _run(
                admin,
                [
                    f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
                    f"DROP ROLE IF EXISTS vardkedja_app_{suffix}",
                    f"DROP ROLE IF EXISTS vardkedja_owner_{suffix}",
                ],
            )
        )


async def _superuser(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return bool(
            await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        )
    finally:
        await conn.close()


def test_owner_migrates_and_the_app_role_serves_and_audits(roles: tuple[str, str]) -> None:
    owner_url, app_url = roles
    assert not asyncio.run(_superuser(owner_url))
    assert not asyncio.run(_superuser(app_url))
    migrate.upgrade(owner_url)
    migrate.upgrade(app_url)  # what `serve` does at start: at head already, so no DDL
    asyncio.run(_serve_as_app(owner_url, app_url))


async def _serve_as_app(owner_url: str, app_url: str) -> None:
    owner = create_engine(owner_url, pool_size=1)
    async with owner.begin() as conn:
        patient = await create_patient(conn, family_name="Rollsson")
    settings = Settings(jwt_secret=TEST_SECRET, audit_key="compose-test")
    pooled = PooledDatabase(app_url, pool_size=2)
    pooled.start()
    try:
        app = create_app(settings, db=pooled)
        token = mint(settings, kind="patient", subject=patient.identifier, pnr=patient.identifier)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            response = await http.post(
                "/graphql",
                json={
                    "operationName": "MyRecord",
                    "variables": {"personnummer": patient.identifier},
                },
                headers={"authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["patient"]["familyName"] == "Rollsson"
    finally:
        await pooled.stop()

    conn = await asyncpg.connect(to_plain_url(app_url))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE audit_entry SET operation = 'forged'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE sneaky (id int)")
    finally:
        await conn.close()
    async with owner.connect() as check:
        from sqlalchemy import text

        rows = await check.execute(
            text("SELECT count(*) FROM audit_entry WHERE patient_id = :p"), {"p": patient.id}
        )
        assert rows.scalar_one() >= 1
    await owner.dispose()
