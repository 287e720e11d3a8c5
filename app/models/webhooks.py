"""Webhooks of system integrations: where to POST notices of changes, and each delivery."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Column, Field, SQLModel

from app.models.base import tz_field, utcnow


class Webhook(SQLModel, table=True):
    """An endpoint a system integration registered, with the categories (and units) it serves
    and how far into the change log its notices have been queued."""

    __tablename__ = "webhook"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = Field(max_length=100, description="The registering system's client id")
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=100, description="HMAC-SHA256 key of the signatures")
    categories: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    care_unit_ids: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    cursor_txid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    cursor_position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    active: bool = Field(default=True)
    created_at: datetime = tz_field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One POST of a batch of change notices (ids only), retried until delivered."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_webhook_created", "webhook_id", "created_at"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    webhook_id: uuid.UUID = Field(foreign_key="webhook.id")
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    status: str = Field(default="pending", max_length=12, description="pending, delivered, failed")
    attempts: int = Field(default=0)
    next_attempt_at: datetime = tz_field(default_factory=utcnow)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = tz_field(default_factory=utcnow)
    delivered_at: datetime | None = tz_field(default=None)
