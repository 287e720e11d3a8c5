"""Indexes for reverse links that span patients (a unit's contacts, a practitioner's notes).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_care_contact_unit_event_time", "care_contact", ["care_unit_id", "event_time", "id"]
    )
    op.create_index(
        "ix_care_document_accountable_event_time",
        "care_document",
        ["accountable_practitioner_id", "event_time", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_care_document_accountable_event_time", table_name="care_document")
    op.drop_index("ix_care_contact_unit_event_time", table_name="care_contact")
