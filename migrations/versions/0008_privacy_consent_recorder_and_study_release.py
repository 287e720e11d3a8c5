"""Who recorded a consent: the HSA-id of a clinician who registered a consent the patient gave
them in person (A5 temporary lifts of blocks, SVOD and NLL consents, A8). A power of attorney
for a person not registered yet (pending: the personnummer named, completed on registration),
so that addRepresentative does not tell whether a personnummer is registered (A12).

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

    op.add_column(
        "representative",
        sa.Column(
            "representative_identifier", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True
        ),
    )
    op.alter_column("representative", "representative_patient_id", nullable=True)
    op.create_check_constraint(
        op.f("ck_representative_one_person"),
        "representative",
        "(representative_patient_id IS NULL) <> (representative_identifier IS NULL)",
    )


def downgrade() -> None:
    # Pending powers of attorney grant nothing; they cannot be kept without a person.
    op.execute("DELETE FROM representative WHERE representative_patient_id IS NULL")
    op.drop_constraint(op.f("ck_representative_one_person"), "representative", type_="check")
    op.alter_column("representative", "representative_patient_id", nullable=False)
    op.drop_column("representative", "representative_identifier")
    op.drop_column("consent", "recorded_by_hsa_id")
