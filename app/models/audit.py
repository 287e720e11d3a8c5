"""The audit trail (A12): append-only and hash-chained, one entry per operation and patient."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, SmallInteger
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Column, Field, SQLModel

from app.models.base import tz_field, utcnow


class AuditEntry(SQLModel, table=True):
    """Who saw or was denied what, when, for which purpose. Never updated or deleted.

    Not distributed by patient: the entries form `app.audit.CHAINS` hash chains, each one
    sequence in id order (see docs/data-model.md and docs/privacy.md). Range-partitioned by
    month of `occurred_at` (migration 0018, app/audit_partitions.py), so the key holds it too.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_patient_time", "patient_id", "occurred_at"),
        # The head of a chain: the last entry WHERE chain = k ORDER BY id DESC.
        Index("ix_audit_entry_chain_id", "chain", "id"),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, Identity(always=False), primary_key=True),
    )
    occurred_at: datetime = tz_field(
        default_factory=utcnow, primary_key=True, description="The partition key"
    )
    principal_kind: str = Field(max_length=20)
    principal_id: str = Field(max_length=64, description="HSA-id, personnummer or client id")
    principal_name: str | None = Field(default=None, max_length=200)
    care_unit_hsa_id: str | None = Field(default=None, max_length=31)
    care_provider_hsa_id: str | None = Field(default=None, max_length=31)
    client_id: str | None = Field(default=None, max_length=100)
    patient_id: uuid.UUID | None = None
    purpose: str | None = Field(default=None, max_length=10)
    action: str = Field(
        max_length=20, description="read, revalidate (a 304), search, write, emergency, deny"
    )
    operation: str | None = Field(default=None, max_length=100)
    resources: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    outcome: str = Field(max_length=20, description="disclosed, denied, written, nothing")
    reason: str | None = Field(default=None, max_length=500)
    review_required: bool = Field(default=False, description="Emergency access to follow up")
    chain: int = Field(
        default=0,
        sa_column=Column(SmallInteger, nullable=False, server_default="0"),
        description="Which of the independent hash chains the entry belongs to",
    )
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCut(SQLModel, table=True):
    """Where a chain continues after its oldest entries were archived (`vardkedja audit
    archive`): the last archived entry of the chain. Append-only like the entries; `mac` is an
    HMAC under the audit key, so a cut cannot be forged to hide entries deleted after it."""

    __tablename__ = "audit_cut"
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, Identity(always=False), primary_key=True),
    )
    chain: int = Field(sa_column=Column(SmallInteger, nullable=False))
    entry_id: int = Field(
        sa_column=Column(BigInteger, nullable=False), description="The last archived entry"
    )
    occurred_at: datetime = tz_field(description="That entry's time")
    hash: str = Field(max_length=64, description="That entry's hash: the next one links to it")
    archived_before: datetime = tz_field(description="Partitions before this were archived")
    archive_sha256: str = Field(max_length=64, description="SHA-256 of the archive file")
    mac: str = Field(max_length=64, description="HMAC of the cut under the audit key")
