"""Who recorded a consent: the HSA-id of a clinician who registered a consent the patient gave
them in person (A5 temporary lifts of blocks, SVOD and NLL consents, A8).

Revision ID: 0008_privacy
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_privacy"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "consent",
        sa.Column("recorded_by_hsa_id", sqlmodel.sql.sqltypes.AutoString(length=31), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("consent", "recorded_by_hsa_id")
