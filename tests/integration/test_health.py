"""/healthz says the process is up; /readyz says the database answers and is migrated."""

from __future__ import annotations

import socket

import httpx

from app.main import create_app
from app.settings import Settings


async def test_ready_when_database_is_migrated(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_not_ready_when_database_is_unreachable(settings: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(settings, url=f"postgresql://postgres@127.0.0.1:{port}/none")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            ready = await http.get("/readyz")
            alive = await http.get("/healthz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert alive.status_code == 200
