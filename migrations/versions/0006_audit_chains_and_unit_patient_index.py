"""Audit entries on several hash chains (a `chain` column and the index that finds a chain's
head), and an index that starts at the care unit for the patient search by unit.

Existing entries stay on chain 0, unchanged: their hashes do not cover the chain number.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "audit_entry",
        sa.Column("chain", sa.SmallInteger(), server_default="0", nullable=False),
    )
    op.create_index("ix_audit_entry_chain_id", "audit_entry", ["chain", "id"])
    op.create_index(
        "ix_care_relationship_unit_patient", "care_relationship", ["care_unit_id", "patient_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_care_relationship_unit_patient", table_name="care_relationship")
    op.drop_index("ix_audit_entry_chain_id", table_name="audit_entry")
    op.drop_column("audit_entry", "chain")
