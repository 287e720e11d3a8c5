"""The change log (transactional outbox): one entry per written row, never its content.

Entries are written by triggers on the patient tables (migrations 0010_changes, 0013), in the
transaction of the write itself, whoever writes: mutations, FHIR import, seed, a DBA's UPDATE.
The table is range-partitioned by `recorded_at` so that old positions are dropped a partition
at a time (app/changes/retention.py); see docs/changes.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Sequence, text
from sqlmodel import Column, Field, SQLModel

from app.models.base import tz_field

# Partitions are named change_log_pYYYYMM (one per month) and change_log_default
# (app/partitions.py).
DEFAULT_PARTITION = "change_log_default"
POSITION_SEQUENCE = Sequence("change_log_position_seq", metadata=SQLModel.metadata)


class ChangeLog(SQLModel, table=True):
    """Which row of which patient changed, how, in which transaction. Ordered by
    (txid, position): see app/changes/feed.py for why the transaction id leads."""

    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_txid_position", "txid", "position"),
        Index("ix_change_log_patient_txid_position", "patient_id", "txid", "position"),
        {"postgresql_partition_by": "RANGE (recorded_at)"},
    )
    recorded_at: datetime = tz_field(
        primary_key=True,
        sa_column_kwargs={"server_default": text("now()")},
        description="Start of the writing transaction; the partition key",
    )
    position: int = Field(
        sa_column=Column(
            BigInteger,
            POSITION_SEQUENCE,
            primary_key=True,
            server_default=POSITION_SEQUENCE.next_value(),
        ),
        description="Monotonic within a transaction; global order is (txid, position)",
    )
    txid: int = Field(
        sa_column=Column(
            BigInteger, nullable=False, server_default=text("(pg_current_xact_id())::text::bigint")
        ),
        description="The writing transaction (64-bit xid8)",
    )
    patient_id: uuid.UUID
    category: str = Field(max_length=40, description="The table written (e.g. diagnosis)")
    record_id: uuid.UUID
    kind: str = Field(max_length=12, description="created, updated, nullified or deleted")
    record_table: str | None = Field(
        default=None,
        max_length=40,
        description="The table of record_id when it is not `category` (fhir_preserved: the row "
        "whose preserved FHIR elements changed)",
    )


class ChangeLogHorizon(SQLModel, table=True):
    """One row: the newest (txid, position) dropped by retention. A cursor at or before it
    may have missed entries and is refused (CURSOR_EXPIRED)."""

    __tablename__ = "change_log_horizon"
    id: int = Field(default=1, primary_key=True)
    txid: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    position: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    dropped_before: datetime | None = tz_field(default=None)
