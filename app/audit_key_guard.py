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

And a replica set to a *different* key: the database keeps a fingerprint of the key the chain
is written under (migration 0017); `serve` records it on the first start and refuses, in one
line, to start under any other key; every audit write checks it again (migration 0021: the
INSERT itself fails under another key, app/audit.py). A key rotation (the new key, with the
old one listed in VARDKEDJA_AUDIT_PREVIOUS_KEYS) moves the fingerprint to the new key.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac

from app.db import connect, describe_url
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
    conn = await connect(url)
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


# What the fingerprint is an HMAC of: it identifies the key without revealing it (nor anything
# that would help forge an entry, which is an HMAC of other messages).
FINGERPRINT_LABEL = b"vardkedja audit key fingerprint"


@functools.lru_cache(maxsize=8)  # every audit flush sends its key's (app/audit.py)
def fingerprint(key: bytes) -> str:
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


async def settle_fingerprint(url: str, key: bytes, retired: list[bytes]) -> str:
    """Record the fingerprint of `key` when the database has none; move it to `key` when it is
    of one of the `retired` keys (a rotation) or the trail has no entries yet; else raise
    SettingsError (one line). Returns what was done: "recorded", "same" or "moved"."""
    mine = fingerprint(key)
    conn = await connect(url)
    try:
        async with conn.transaction():
            # Replicas starting together: the first INSERT wins, the others read its row (the
            # row lock orders a rotation against them).
            inserted = await conn.fetchval(
                "INSERT INTO audit_key_fingerprint (id, fingerprint, recorded_at)"
                " VALUES (1, $1, now()) ON CONFLICT (id) DO NOTHING RETURNING id",
                mine,
            )
            if inserted is not None:
                return "recorded"
            stored = await conn.fetchval(
                "SELECT fingerprint FROM audit_key_fingerprint WHERE id = 1 FOR UPDATE"
            )
            if stored == mine:
                return "same"
            # A retired key (a rotation), or a trail without entries (nothing is chained under
            # the recorded key yet: a trial before the deployment's key, say).
            if stored in {fingerprint(k) for k in retired} or not await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM audit_entry)"
            ):
                await conn.execute(
                    "UPDATE audit_key_fingerprint SET fingerprint = $1, recorded_at = now()"
                    " WHERE id = 1",
                    mine,
                )
                return "moved"
    finally:
        await conn.close()
    raise SettingsError(
        f"the audit trail of {describe_url(url)} is chained under another key (fingerprint "
        f"{stored[:12]}, VARDKEDJA_AUDIT_KEY has {mine[:12]}): every replica must use the "
        "shared key (after a rotation, list the retired key in VARDKEDJA_AUDIT_PREVIOUS_KEYS)"
    )


def require_recorded_key(settings: Settings, url: str) -> str:
    """settle_fingerprint for the settings' key and retired keys (`serve` at start)."""
    from app.privacy_cli import audit_keys

    *retired, key = audit_keys(settings)
    return asyncio.run(settle_fingerprint(url, key, retired))
