"""The one place that decides whether a serving process has the keys it must have.

`vardkedja serve` and the ASGI factory (app/asgi.py) both ask `require_serving_keys` and
`require_shared_audit_key` before they answer a request:

- With the embedded server (no VARDKEDJA_DATABASE_URL) a new user gets zero configuration: the
  audit and pseudonym keys are generated once in the data dir.
- Against an external database, which is what a deployment is, both keys must be configured
  unless VARDKEDJA_DEVELOPMENT=true says this is a trial: a key generated on one machine is
  lost with its container (no verifiable audit chain, no stable research pseudonyms) and differs
  between replicas.
- Even in development mode, a database that already has audit entries needs the shared audit
  key: a key of this machine's own would break the chain for the other replicas.
"""

from __future__ import annotations

import asyncio

import asyncpg

from app.db import split_tls, to_plain_url
from app.settings import Settings, SettingsError


def require_serving_keys(configured: Settings) -> None:
    """Raise SettingsError (one line) when `configured` (the environment's settings, without
    the data dir's development keys) serves an external database without its audit or
    pseudonym key outside development mode."""
    if not configured.database_url or configured.development:
        return
    missing = [
        name
        for name, value in (
            ("VARDKEDJA_AUDIT_KEY", configured.audit_key),
            ("VARDKEDJA_PSEUDONYM_KEY", configured.pseudonym_key),
        )
        if not value
    ]
    if missing:
        raise SettingsError(
            f"{' and '.join(missing)} must be set to serve an external database (keep them "
            "outside the database; see docs/operations.md, Keys), or set "
            "VARDKEDJA_DEVELOPMENT=true for a trial with generated keys"
        )


async def has_audit_entries(url: str) -> bool:
    plain, tls = split_tls(to_plain_url(url))
    # No statement cache: the URL may be a PgBouncer in transaction pooling mode.
    conn = await asyncpg.connect(plain, ssl=tls, statement_cache_size=0)
    try:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM audit_entry)"))
    finally:
        await conn.close()


def require_shared_audit_key(settings: Settings, url: str, configured_key: str | None) -> None:
    """Raise SettingsError (one line) when `settings` would chain entries on an external
    database that has entries under a key of this machine's own: when the environment sets
    no key (`configured_key`, before with_dev_keys filled one from the data dir)."""
    if configured_key or not settings.database_url:
        return
    if asyncio.run(has_audit_entries(url)):
        raise SettingsError(
            "the database already has audit entries and VARDKEDJA_AUDIT_KEY is not set: every "
            "replica must use the audit chain's shared key (a key of this machine's own would "
            "break the chain)"
        )
