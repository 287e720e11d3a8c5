"""GraphiQL in a real headless Chromium with every request outside 127.0.0.1 blocked: the page
loads from the package alone, a `?query=` link opens with the query, the token placeholder is
not sent, and a patient's own token in the Headers tab brings their record into the result."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from app import migrate
from app.db import create_engine
from app.main import create_app
from app.settings import Settings
from app.tokens import mint
from tests.browser import Browser
from tests.conftest import TEST_SECRET
from tests.factories import create_patient
from tests.live_server import live_server

QUERY = "query Own($p: String!) { patient(personnummer: $p) { familyName } }"
RESULT = "(document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue() ?? '')"
EDITOR = "[...document.querySelectorAll('.CodeMirror')].map(e => e.CodeMirror.getValue())"
RUN = "document.querySelector('.graphiql-execute-button').click(), true"


async def _committed_patient(url: str) -> str:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            patient = await create_patient(conn, family_name="Webbläsarsson")
    finally:
        await engine.dispose()
    return patient.identifier


@pytest.fixture(scope="module")
def served(fresh_database: object) -> Iterator[tuple[str, str, Settings]]:
    """A live server on its own migrated database holding one patient (committed)."""
    url: str = fresh_database()  # type: ignore[operator]
    migrate.upgrade(url)
    pnr = asyncio.run(_committed_patient(url))
    settings = Settings(jwt_secret=TEST_SECRET, audit_key="browser-test", database_url=url)
    with live_server(create_app(settings, url=url)) as base:
        yield base, pnr, settings


def _set_editor(browser: Browser, containing: str, value: str) -> None:
    """Replace the text of the CodeMirror editor whose text contains `containing`."""
    script = (
        "(() => { const e = [...document.querySelectorAll('.CodeMirror')]"
        f".find(e => e.CodeMirror.getValue().includes({json.dumps(containing)}));"
        f" e.CodeMirror.setValue({json.dumps(value)}); return true; }})()"
    )
    assert browser.evaluate(script)


def test_graphiql_runs_a_query_offline(served: tuple[str, str, Settings], tmp_path: Path) -> None:
    base, pnr, settings = served
    variables = json.dumps({"p": pnr})
    with Browser() as browser:
        browser.navigate(f"{base}/graphql?query={quote(QUERY)}&variables={quote(variables)}")
        browser.wait_for("document.querySelector('.graphiql-execute-button') !== null")
        editors = browser.wait_for(f"{EDITOR}.length >= 3 && {EDITOR}")
        assert QUERY in editors, editors
        assert any("vardkedja token --as clinician" in text for text in editors), editors

        # The placeholder Authorization is not sent: the answer is the one for no token at all
        # (nothing is looked up), not the one for a bad token.
        browser.evaluate(RUN)
        anonymous = json.loads(browser.wait_for(f"{RESULT}.includes('errors') && {RESULT}"))
        assert anonymous["errors"] == [
            {
                "message": "a token is needed to read or write data",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]

        token = mint(settings, kind="patient", subject=pnr, pnr=pnr)
        _set_editor(browser, "Authorization", json.dumps({"Authorization": f"Bearer {token}"}))
        browser.evaluate(RUN)
        own = json.loads(browser.wait_for(f"{RESULT}.includes('Webbläsarsson') && {RESULT}"))
        assert own["data"] == {"patient": {"familyName": "Webbläsarsson"}}

        # The address keeps the query: a reload opens it again instead of a JSON error.
        address = browser.evaluate("window.location.href")
        assert "query=" in address
        browser.navigate(address)
        browser.wait_for("document.querySelector('.graphiql-execute-button') !== null")
        assert QUERY in browser.wait_for(f"{EDITOR}.length >= 3 && {EDITOR}")

        # GraphiQL's own short form, `?q=`, opens too.
        browser.navigate(f"{base}/graphql?q={quote('{ __typename }')}")
        browser.wait_for(f"{EDITOR}.some(t => t === '{{ __typename }}')")
        browser.screenshot(tmp_path / "graphiql.png")
        assert (tmp_path / "graphiql.png").stat().st_size > 10_000
        assert browser.blocked == []
        assert browser.console == []
