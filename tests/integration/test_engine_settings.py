"""The service's connections reuse one generic plan per prepared statement (app/db.py)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import driver_fetch


async def test_connections_plan_generically(conn: AsyncConnection) -> None:
    shown = await conn.execute(text("SHOW plan_cache_mode"))
    assert shown.scalar() == "force_generic_plan"
    # The same session setting holds for statements sent straight to the driver.
    rows = await driver_fetch(conn, "SELECT current_setting('plan_cache_mode') AS mode", ())
    assert rows[0]["mode"] == "force_generic_plan"
