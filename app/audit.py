"""The audit trail (A12): collect disclosures and denials during a request, then write one
entry per patient in the same transaction, before the response is sent.

Entries are hash-chained: each entry's hash covers its content and the previous entry's hash,
so `vardkedja audit verify` can find any changed, inserted or deleted entry.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.principal import Principal
from app.models.base import utcnow

GENESIS = "0" * 64
# One writer at a time extends the chain; the lock is held until the transaction ends.
CHAIN_LOCK = 0x7661_7264  # "vard"


@dataclass
class AuditBuffer:
    """What one request disclosed or denied, per patient."""

    disclosed: dict[uuid.UUID, set[str]] = field(default_factory=lambda: defaultdict(set))
    denied: dict[uuid.UUID | None, str] = field(default_factory=dict)
    written: dict[uuid.UUID, set[str]] = field(default_factory=lambda: defaultdict(set))

    def disclose(self, patient_id: uuid.UUID, type_name: str, row_id: uuid.UUID) -> None:
        self.disclosed[patient_id].add(f"{type_name}:{row_id}")

    def deny(self, patient_id: uuid.UUID | None, reason: str) -> None:
        self.denied.setdefault(patient_id, reason)

    def write(self, patient_id: uuid.UUID, type_name: str, row_id: uuid.UUID) -> None:
        self.written[patient_id].add(f"{type_name}:{row_id}")

    @property
    def empty(self) -> bool:
        return not (self.disclosed or self.denied or self.written)


def entry_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """sha256 over the previous hash and the entry's canonical JSON."""
    canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode() + canonical).hexdigest()


def entry_content(
    principal: Principal,
    *,
    occurred_at: datetime,
    patient_id: uuid.UUID | None,
    action: str,
    outcome: str,
    resources: list[str],
    operation: str | None,
    reason: str | None,
) -> dict[str, Any]:
    return {
        "occurred_at": occurred_at.isoformat(),
        "principal_kind": principal.kind.value,
        "principal_id": principal.subject,
        "principal_name": principal.name,
        "care_unit_hsa_id": principal.care_unit_hsa_id,
        "care_provider_hsa_id": principal.care_provider_hsa_id,
        "client_id": principal.client_id,
        "patient_id": str(patient_id) if patient_id else None,
        "purpose": principal.purpose.value if principal.purpose else None,
        "action": action,
        "operation": operation,
        "resources": resources,
        "outcome": outcome,
        "reason": reason,
        "review_required": principal.emergency_reason is not None,
    }


async def flush(
    conn: AsyncConnection, buffer: AuditBuffer, principal: Principal, operation: str | None
) -> int:
    """Write the buffer as chained entries; returns how many were written."""
    if buffer.empty:
        return 0
    now = utcnow()
    action_read = "emergency" if principal.emergency_reason else "read"
    entries: list[dict[str, Any]] = []
    for pid, ids in buffer.disclosed.items():
        entries.append(
            entry_content(
                principal,
                occurred_at=now,
                patient_id=pid,
                action=action_read,
                outcome="disclosed",
                resources=sorted(ids),
                operation=operation,
                reason=principal.emergency_reason,
            )
        )
    for pid, ids in buffer.written.items():
        entries.append(
            entry_content(
                principal,
                occurred_at=now,
                patient_id=pid,
                action="write",
                outcome="written",
                resources=sorted(ids),
                operation=operation,
                reason=None,
            )
        )
    for denied_pid, reason in buffer.denied.items():
        if denied_pid is not None and denied_pid in buffer.disclosed:
            continue
        entries.append(
            entry_content(
                principal,
                occurred_at=now,
                patient_id=denied_pid,
                action="deny",
                outcome="denied",
                resources=[],
                operation=operation,
                reason=reason,
            )
        )
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})
    last = await conn.execute(text("SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1"))
    prev = last.scalar() or GENESIS
    rows = []
    for content in entries:
        digest = entry_hash(prev, content)
        rows.append(
            {
                **content,
                "occurred_at": now,
                "prev_hash": prev,
                "hash": digest,
                "patient_id": uuid.UUID(content["patient_id"]) if content["patient_id"] else None,
                "resources": orjson.dumps(content["resources"]).decode(),
            }
        )
        prev = digest
    await conn.execute(
        text(
            "INSERT INTO audit_entry (occurred_at, principal_kind, principal_id, principal_name,"
            " care_unit_hsa_id, care_provider_hsa_id, client_id, patient_id, purpose, action,"
            " operation, resources, outcome, reason, review_required, prev_hash, hash) VALUES"
            " (:occurred_at, :principal_kind, :principal_id, :principal_name, :care_unit_hsa_id,"
            " :care_provider_hsa_id, :client_id, :patient_id, :purpose, :action, :operation,"
            " CAST(:resources AS jsonb), :outcome, :reason, :review_required, :prev_hash, :hash)"
        ),
        rows,
    )
    return len(rows)
