"""CORS: the origins in VARDKEDJA_CORS_ORIGINS may call /graphql from a browser (preflight and
request); any other origin, and every origin by default, gets no CORS permission."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import ConnectionDatabase
from app.main import create_app
from app.settings import Settings, SettingsError, get_settings
from tests.conftest import TEST_SECRET

ALLOWED = "https://journal.region.example.se"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type, x-purpose-of-use",
}


@pytest.fixture
def settings() -> Settings:
    return Settings(jwt_secret=TEST_SECRET, database_url=None, cors_origins=[ALLOWED])


async def test_preflight_of_an_allowed_origin_is_answered(client: httpx.AsyncClient) -> None:
    response = await client.options("/graphql", headers={"origin": ALLOWED, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "x-purpose-of-use"):
        assert header in allowed
    assert "access-control-allow-credentials" not in response.headers


async def test_request_of_an_allowed_origin_may_read_the_answer(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": ALLOWED}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


async def test_other_origins_get_no_permission(client: httpx.AsyncClient) -> None:
    other = "https://evil.example.com"
    preflight = await client.options("/graphql", headers={"origin": other, **PREFLIGHT})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": other}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_no_origin_is_allowed_by_default(conn: AsyncConnection) -> None:
    app = create_app(Settings(jwt_secret=TEST_SECRET), db=ConnectionDatabase(conn))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        preflight = await http.options("/graphql", headers={"origin": ALLOWED, **PREFLIGHT})
        response = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": ALLOWED}
        )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_origins_come_comma_separated_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VARDKEDJA_CORS_ORIGINS", f" {ALLOWED}, http://localhost:5173 ,")
    assert Settings().cors_origins == [ALLOWED, "http://localhost:5173"]
    monkeypatch.delenv("VARDKEDJA_CORS_ORIGINS")
    assert Settings().cors_origins == []


@pytest.mark.parametrize("bad", ["https://app.example.se/", "app.example.se", "ftp://x.se"])
def test_a_value_that_is_not_an_origin_stops_the_command(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("VARDKEDJA_CORS_ORIGINS", bad)
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match="VARDKEDJA_CORS_ORIGINS") as raised:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert "\n" not in str(raised.value)
