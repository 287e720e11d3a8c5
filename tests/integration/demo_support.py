"""The demo data (app/seed/demo.py) in a database of its own, called over HTTP with the tokens
`vardkedja token` mints for the demo roles (app/privacy_cli.py): what a new user of the README
and docs/care-situations.md gets."""

from __future__ import annotations

import argparse
import asyncio
import shlex
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app import migrate
from app.db import ConnectionDatabase, create_engine
from app.privacy_cli import claims_for
from app.seed import seed_population
from app.settings import Settings
from app.tokens import mint

TOKEN_OPTIONS = (
    "role_as", "who", "hsa_id", "unit", "provider", "role", "assignment", "personnummer",
    "represents", "client_id", "study", "name", "purpose",
)  # fmt: skip


def token_for(settings: Settings, command: str) -> str:
    """The token `vardkedja token <command>` prints, e.g. "--as clinician --who dentist"."""
    parser = argparse.ArgumentParser()
    for option in TOKEN_OPTIONS:
        flag = "--as" if option == "role_as" else "--" + option.replace("_", "-")
        parser.add_argument(flag, dest=option)
    args = parser.parse_args(shlex.split(command))
    claims = claims_for(args)
    purpose = args.purpose.upper() if args.purpose else None
    return mint(settings, kind=claims.kind, subject=claims.subject, purpose=purpose, **claims.extra)


@dataclass
class Demo:
    http: httpx.AsyncClient
    conn: AsyncConnection
    settings: Settings

    async def run(
        self,
        as_: str,
        operation: str,
        variables: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run a shipped operation by name as the role `as_` (vardkedja token options)."""
        token = token_for(self.settings, as_)
        response = await self.http.post(
            "/graphql",
            json={"operationName": operation, "variables": variables},
            headers={"authorization": f"Bearer {token}", **(headers or {})},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body


@pytest.fixture(scope="session")
def demo_url(fresh_database: Callable[[], str]) -> str:
    """A database with the reference world and the demo people only (each test's writes are
    rolled back, so one per session)."""
    url = fresh_database()
    migrate.upgrade(url)
    asyncio.run(seed_population(url, patients=0, seed=1))
    return url


@pytest.fixture
async def demo(demo_url: str, settings: Settings) -> AsyncIterator[Demo]:
    """The app over the demo database; whatever a test writes is rolled back."""
    from app.main import create_app

    engine = create_engine(demo_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            outer = await conn.begin()
            app = create_app(settings, db=ConnectionDatabase(conn))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield Demo(http, conn, settings)
            if outer.is_active:
                await outer.rollback()
    finally:
        await engine.dispose()
