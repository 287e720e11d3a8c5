"""A database URL with an IPv6 host (`postgresql://user@[::1]:port/db`) works for the commands:
the test server is reached through a small TCP relay listening on [::1]."""

from __future__ import annotations

import asyncio
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app import cli
from app.db import to_plain_url
from app.settings import get_settings


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class Relay:
    """Listens on [::1] and forwards every connection to the server behind `url`."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(to_plain_url(url))
        query = urllib.parse.parse_qs(parts.query)
        self.port_behind = parts.port or 5432
        self.socket_dir = query["host"][0] if "host" in query else None
        self.host_behind = parts.hostname or "127.0.0.1"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.socket_dir is not None:
            return await asyncio.open_unix_connection(
                f"{self.socket_dir}/.s.PGSQL.{self.port_behind}"
            )
        return await asyncio.open_connection(self.host_behind, self.port_behind)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        up_reader, up_writer = await self._open()
        self.writers.append(up_writer)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _shutdown(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in self.writers:
            writer.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in self.writers:
            await writer.wait_closed()

    def start(self) -> int:
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, host="::1", port=0), self.loop
        )
        self.server = started.result(10)
        return int(self.server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def ipv6_url(fresh_database: Callable[[], str]) -> Iterator[str]:
    url = fresh_database()
    relay = Relay(url)
    port = relay.start()
    parts = urllib.parse.urlsplit(to_plain_url(url))
    user = parts.username or "postgres"
    password = f":{parts.password}" if parts.password else ""
    try:
        yield f"postgresql://{user}{password}@[::1]:{port}{parts.path}"
    finally:
        relay.stop()


def test_commands_work_with_an_ipv6_host(
    ipv6_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VARDKEDJA_DATABASE_URL", ipv6_url)
    monkeypatch.setenv("VARDKEDJA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 0
        parts = urllib.parse.urlsplit(ipv6_url)
        shown = f"postgresql://[::1]:{parts.port}{parts.path}"  # no user, IPv6 in brackets
        assert capsys.readouterr().out.strip() == f"migrated {shown} to head"
        assert cli.main(["audit", "verify"]) == 0
        assert capsys.readouterr().out.startswith("audit chain ok: 0 entries")
    finally:
        get_settings.cache_clear()
