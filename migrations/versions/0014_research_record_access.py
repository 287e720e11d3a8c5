"""Whether a study's ethics approval allows pseudonymised record access (A15): without it a
research client gets cohort counts only. Existing studies get no record access until their
approval is recorded as allowing it (fail closed).

Revision ID: 0014_research_access
Revises: 0018_audit_partitions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_research_access"
down_revision: str | None = "0018_audit_partitions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "research_study",
        sa.Column("allows_record_access", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("research_study", "allows_record_access")
