"""Audit key rotation: the chain goes on under a new key; `audit verify` checks old entries
with the retired keys (oldest first) and refuses an entry made with a retired key after its
chain moved to the new one (a leaked old key cannot forge new entries)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from app import audit
from app.audit_verify import verify_chain
from app.privacy_cli import audit_keys
from app.settings import Settings
from tests.integration.test_audit_chain import PRINCIPAL

OLD, NEW = b"audit-key-2025", b"audit-key-2026"


async def entries(conn: AsyncConnection, key: bytes, count: int, chain: int = 0) -> None:
    for i in range(count):
        buffer = audit.AuditBuffer(chain_key=key)
        buffer.disclose(uuid.uuid4(), "CareDocument", uuid.uuid4())
        await audit.flush(conn, buffer, PRINCIPAL, f"op{i}", chain=chain)


async def test_chain_verifies_across_a_rotation(conn: AsyncConnection) -> None:
    await entries(conn, OLD, 3)
    await entries(conn, NEW, 2)
    await entries(conn, NEW, 2, chain=1)
    report = await verify_chain(conn, [OLD, NEW])
    assert report.ok, report.problems
    assert report.checked == 7
    # Without the retired key the old entries do not verify; with only it the new ones.
    assert {p.kind for p in (await verify_chain(conn, NEW)).problems} == {"changed"}
    assert not (await verify_chain(conn, OLD)).ok


async def test_a_retired_key_cannot_forge_after_the_rotation(conn: AsyncConnection) -> None:
    await entries(conn, OLD, 2)
    await entries(conn, NEW, 1)
    await entries(conn, OLD, 1)  # someone holding the leaked old key appends an entry
    report = await verify_chain(conn, [OLD, NEW])
    assert [p.kind for p in report.problems] == ["changed"]
    assert "retired key" in report.problems[0].detail


def test_keys_come_from_the_settings_oldest_first(settings: Settings) -> None:
    rotated = settings.model_copy(update={"audit_key": "k3", "audit_previous_keys": "k1, k2"})
    assert audit_keys(rotated) == [b"k1", b"k2", b"k3"]
