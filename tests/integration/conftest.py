"""Fixtures of the integration tests beyond tests/conftest.py: the demo database, and the audit
key fingerprint that a real server records."""

import asyncio
from collections.abc import Iterator

import pytest

from tests.conftest import _admin
from tests.integration.demo_support import demo, demo_url


@pytest.fixture(autouse=True)
def forget_recorded_audit_key(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that starts a real `serve` on a session database records that server's audit key
    fingerprint there, committed (app/audit_key_guard.py); every later audit write of the
    session, under the tests' own key, would then be refused (as a replica under another key
    must be). Forget it after each test, so that each test starts as on a new database."""
    urls = [request.getfixturevalue("database_url")]
    if "demo_url" in request.fixturenames or "demo" in request.fixturenames:
        urls.append(request.getfixturevalue("demo_url"))
    yield
    for url in urls:
        asyncio.run(_admin(url, "DELETE FROM audit_key_fingerprint"))


__all__ = ["demo", "demo_url", "forget_recorded_audit_key"]
