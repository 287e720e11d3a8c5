"""The clinician page (/app) in a real headless Chromium, with everything outside 127.0.0.1
blocked: a clinician signs in with a token, finds a patient, sees the overview (the blocked
provider's alert withheld), takes emergency access in two steps with a reason and then sees
it; the patient signs in and sees in their access log who read their record."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app import migrate
from app.db import create_engine, to_plain_url
from app.main import create_app
from app.settings import Settings
from app.tokens import mint
from tests import factories as f
from tests.browser import Browser
from tests.conftest import TEST_SECRET
from tests.integration.privacy_world import build_world
from tests.live_server import live_server

TEXT = "document.body.innerText"


async def _world(url: str) -> dict[str, Any]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            w = await build_world(conn)
            await f.create_block(conn, w.patient, "outer", w.b)
            await f.create_alert(conn, w.patient, w.u, description="Penicillinallergi")
            await f.create_alert(conn, w.patient, w.v, description="Blockerad varning")
    finally:
        await engine.dispose()
    return {
        "pnr": w.patient.identifier,
        "patient_id": w.patient.id,
        "clinician": {
            "subject": w.x.hsa_id,
            "care_unit": w.u.hsa_id,
            "care_provider": w.a.hsa_id,
            "name": "Doktor Testsson",
        },
    }


@pytest.fixture(scope="module")
def served(fresh_database: object) -> Iterator[tuple[str, str, dict[str, Any], Settings]]:
    url: str = fresh_database()  # type: ignore[operator]
    migrate.upgrade(url)
    world = asyncio.run(_world(url))
    settings = Settings(jwt_secret=TEST_SECRET, audit_key="clinician-page", database_url=url)
    with live_server(create_app(settings, url=url)) as base:
        yield base, url, world, settings


def _type(browser: Browser, element_id: str, value: str) -> None:
    browser.evaluate(
        f"document.getElementById({json.dumps(element_id)}).value = {json.dumps(value)}"
    )


def _click(browser: Browser, selector: str) -> None:
    assert browser.evaluate(
        f"(() => {{ document.querySelector({json.dumps(selector)}).click(); return true; }})()"
    )


async def _audit_actions(url: str, patient_id: object) -> list[str]:
    conn = await asyncpg.connect(to_plain_url(url))
    try:
        rows = await conn.fetch(
            "SELECT action FROM audit_entry WHERE patient_id = $1 ORDER BY id", patient_id
        )
    finally:
        await conn.close()
    return [r["action"] for r in rows]


def test_clinician_page_overview_emergency_access_and_access_log(
    served: tuple[str, str, dict[str, Any], Settings], tmp_path: Path
) -> None:
    base, url, world, settings = served
    c = world["clinician"]
    clinician = mint(
        settings,
        kind="clinician",
        subject=c["subject"],
        care_unit=c["care_unit"],
        care_provider=c["care_provider"],
        name=c["name"],
    )
    with Browser() as browser:
        browser.navigate(f"{base}/app")
        browser.wait_for("document.body?.dataset.ready === 'true'")
        _type(browser, "token", clinician)
        _click(browser, "#signin-button")
        browser.wait_for(f"{TEXT}.includes('Doktor Testsson · clinician')")

        _type(browser, "query", "Tolvans")
        _click(browser, "#search-form button[type=submit]")
        browser.wait_for("document.querySelector('button.patient') !== null")
        _click(browser, "button.patient")
        browser.wait_for(f"{TEXT}.includes('Penicillinallergi')")
        assert "Blockerad varning" not in browser.evaluate(TEXT)
        assert browser.evaluate("document.getElementById('emergency-banner').hidden") is True

        browser.evaluate("document.getElementById('emergency').open = true")
        _click(browser, "#step1")
        assert "needs a reason" in browser.wait_for(f"{TEXT}.includes('needs a reason') && {TEXT}")
        _type(browser, "reason", "Medvetslös patient, akut")
        _click(browser, "#step1")
        browser.wait_for("document.getElementById('blocked').innerText.includes('Privat B')")
        _click(browser, "#step2")
        browser.wait_for(f"{TEXT}.includes('Blockerad varning')")
        assert browser.evaluate("document.getElementById('emergency-banner').hidden") is False
        browser.screenshot(tmp_path / "clinician.png")

        actions = asyncio.run(_audit_actions(url, world["patient_id"]))
        assert "emergency_step1" in actions and "emergency" in actions

        patient = mint(settings, kind="patient", subject=world["pnr"], pnr=world["pnr"])
        _click(browser, "#signout-button")
        _type(browser, "token", patient)
        _click(browser, "#signin-button")
        browser.wait_for("document.getElementById('log').hidden === false")
        _click(browser, "#log-button")
        rows = browser.wait_for("document.getElementById('log-rows').innerText")
        assert "Doktor Testsson" in rows and "ETREAT" in rows
        assert browser.blocked == []
        assert browser.console == []
