"""Open the configured database: embedded when no URL is given, migrated to head."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app import migrate
from app.db import EmbeddedServer, check_reachable
from app.settings import Settings


@dataclass
class OpenDatabase:
    url: str
    embedded: EmbeddedServer | None

    @property
    def description(self) -> str:
        if self.embedded is not None:
            return f"embedded PostgreSQL in {self.embedded.pgdata}"
        from app.db import describe_url

        return describe_url(self.url)


@contextmanager
def open_database(settings: Settings, *, migrate_to_head: bool = True) -> Iterator[OpenDatabase]:
    """Yield a reachable (and migrated) database; stop the embedded server afterwards.

    Raises DatabaseUnavailable with a one-line message when an external URL does not answer.
    """
    embedded: EmbeddedServer | None = None
    try:
        if settings.database_url:
            url = settings.database_url
            asyncio.run(check_reachable(url))
        else:
            # Inside the try: a signal while it starts (SIGTERM, Ctrl-C) still stops it.
            embedded = EmbeddedServer(settings.data_dir.resolve() / "pgdata")
            url = embedded.start()
        if migrate_to_head:
            # Behind PgBouncer, on the server itself (VARDKEDJA_DIRECT_URL is then required).
            migrate.upgrade(settings.direct_url or url)
        yield OpenDatabase(url, embedded)
    finally:
        if embedded is not None:
            embedded.stop()
