"""Idempotency keys: a retried mutation returns its first result instead of writing twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Column, Field, SQLModel

from app.models.base import tz_field, utcnow


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    principal_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=100)
    operation: str = Field(max_length=100)
    response: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = tz_field(default_factory=utcnow)
