"""Exceptions to the patient app's age rules, granted by the head of a unit (A10).

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The API role gets its privileges on the new table from 0003's default privileges.
    op.create_table(
        "portal_access_exception",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("care_provider_id", sa.Uuid(), nullable=False),
        sa.Column("care_unit_id", sa.Uuid(), nullable=False),
        sa.Column("granted_by_hsa_id", sqlmodel.sql.sqltypes.AutoString(length=31), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_hsa_id", sqlmodel.sql.sqltypes.AutoString(length=31), nullable=True),
        sa.CheckConstraint(
            "kind IN ('patient', 'guardian', 'deny_guardian')",
            name=op.f("ck_portal_access_exception_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["care_provider_id"],
            ["care_provider.id"],
            name=op.f("fk_portal_access_exception_care_provider_id_care_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["care_unit_id"],
            ["care_unit.id"],
            name=op.f("fk_portal_access_exception_care_unit_id_care_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patient.id"],
            name=op.f("fk_portal_access_exception_patient_id_patient"),
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_portal_access_exception")),
    )
    op.create_index(
        "ix_portal_access_exception_patient_care_unit_id",
        "portal_access_exception",
        ["patient_id", "care_unit_id"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_portal_access_exception_patient_care_unit_id", table_name="portal_access_exception"
    )
    op.drop_table("portal_access_exception")
