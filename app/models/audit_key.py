"""Which key the audit chain is written under: a fingerprint of it, never the key itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import SmallInteger
from sqlmodel import Column, Field, SQLModel

from app.models.base import tz_field, utcnow


class AuditKeyFingerprint(SQLModel, table=True):
    """One row (id 1): the HMAC of a fixed label under the current audit key.

    `serve` records it on its first start and refuses to start under any other key, so a
    replica set to a different key cannot break the chain silently; a key rotation (the new key,
    with the old one listed as retired) replaces it (app/audit_key_guard.py).
    """

    __tablename__ = "audit_key_fingerprint"
    id: int = Field(
        default=1, sa_column=Column(SmallInteger, primary_key=True, autoincrement=False)
    )
    fingerprint: str = Field(max_length=64, description="HMAC-SHA256 of a label under the key")
    recorded_at: datetime = tz_field(default_factory=utcnow)
