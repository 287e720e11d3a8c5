"""A SIP action's follow-up when it is marked done or not (updateSipAction): the note, when,
and by whom. sip_action is already tracked in the change log (0016_sip).

Revision ID: 0020_sip_action_note
Revises: 0016_sip
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020_sip_action_note"
down_revision: str | None = "0016_sip"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column("sip_action", sa.Column("status_note", sa.Text(), nullable=True))
    op.add_column(
        "sip_action", sa.Column("status_set_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("sip_action", sa.Column("status_set_by_hsa_id", _S(length=31), nullable=True))


def downgrade() -> None:
    for column in ("status_set_by_hsa_id", "status_set_at", "status_note"):
        op.drop_column("sip_action", column)
