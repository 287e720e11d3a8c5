"""A replica must chain its audit entries under the key the others use.

Without VARDKEDJA_AUDIT_KEY, `serve` makes (or reads) a key of its own in its data dir: right
for one machine with the embedded server, silently wrong for a second replica of an external
database, whose entries would then no longer verify under the shared key. So against an external
database that already has audit entries, `serve` refuses to start without an explicit key.
"""

from __future__ import annotations

import asyncio

import asyncpg

from app.db import split_tls, to_plain_url
from app.settings import Settings, SettingsError


async def has_audit_entries(url: str) -> bool:
    plain, tls = split_tls(to_plain_url(url))
    # No statement cache: the URL may be a PgBouncer in transaction pooling mode.
    conn = await asyncpg.connect(plain, ssl=tls, statement_cache_size=0)
    try:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM audit_entry)"))
    finally:
        await conn.close()


def configured_audit_key() -> str | None:
    """The key the environment sets (get_settings fills an unset one from the data dir)."""
    return Settings().audit_key


def require_shared_audit_key(settings: Settings, url: str, configured_key: str | None) -> None:
    """Raise SettingsError (one line) when `settings` would chain entries on an external
    database that has entries under a key of this machine's own: when the environment sets
    no key (`configured_key`, from configured_audit_key())."""
    if configured_key or not settings.database_url:
        return
    if asyncio.run(has_audit_entries(url)):
        raise SettingsError(
            "the database already has audit entries and VARDKEDJA_AUDIT_KEY is not set: every "
            "replica must use the audit chain's shared key (a key of this machine's own would "
            "break the chain)"
        )
