"""Who recorded a consent: the HSA-id of a clinician who registered a consent the patient gave
them in person (A5 temporary lifts of blocks, SVOD and NLL consents, A8). A power of attorney
for a person not registered yet (pending: the personnummer named, completed on registration),
so that addRepresentative does not tell whether a personnummer is registered (A12). What a
study's ethics approval releases to research clients: free text, clinicians' names, the
precision of times, and the smallest count shown (A15).

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

    op.add_column(
        "research_study",
        sa.Column("release_free_text", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "research_study",
        sa.Column(
            "release_clinician_identity", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.add_column(
        "research_study",
        sa.Column(
            "time_precision",
            sqlmodel.sql.sqltypes.AutoString(length=10),
            nullable=False,
            server_default="month",
        ),
    )
    op.add_column(
        "research_study",
        sa.Column("min_cell_size", sa.Integer(), nullable=False, server_default="5"),
    )
    op.create_check_constraint(
        op.f("ck_research_study_time_precision"),
        "research_study",
        "time_precision IN ('exact', 'day', 'month', 'year')",
    )
    for column in (
        "release_free_text",
        "release_clinician_identity",
        "time_precision",
        "min_cell_size",
    ):
        op.alter_column("research_study", column, server_default=None)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_research_study_time_precision"), "research_study", type_="check")
    for column in (
        "min_cell_size",
        "time_precision",
        "release_clinician_identity",
        "release_free_text",
    ):
        op.drop_column("research_study", column)
    # Pending powers of attorney grant nothing; they cannot be kept without a person.
    op.execute("DELETE FROM representative WHERE representative_patient_id IS NULL")
    op.drop_constraint(op.f("ck_representative_one_person"), "representative", type_="check")
    op.alter_column("representative", "representative_patient_id", nullable=False)
    op.drop_column("representative", "representative_identifier")
    op.drop_column("consent", "recorded_by_hsa_id")
