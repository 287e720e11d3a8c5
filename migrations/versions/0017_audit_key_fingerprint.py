"""The audit key's fingerprint (one row): a replica under another key refuses to start.

Revision ID: 0017_replica
Revises: 0019_fhir_export_jobs
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017_replica"
down_revision: str | None = "0019_fhir_export_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_key_fingerprint",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_key_fingerprint")),
    )


def downgrade() -> None:
    op.drop_table("audit_key_fingerprint")
