"""Medication administration (signing lists in municipal home care); tracked in the change log.

Revision ID: 0016_medadmin
Revises: 0015_referrals
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016_medadmin"
down_revision: str | None = "0015_referrals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables of patient data this revision adds, with how the change-log trigger reads them
# (as TRACKED in 0010_changes).
TRACKED = (("medication_administration", "clinical"),)

_S = sqlmodel.sql.sqltypes.AutoString
# The clinical header and its indexes and triggers as 0012 wrote them (a frozen revision).
_0012 = importlib.import_module("migrations.versions.0012_boundary_vital_signs")


def upgrade() -> None:
    table = "medication_administration"
    op.create_table(
        table,
        *_0012._header(table),
        sa.Column("prescription_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", _S(length=20), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dose_text", _S(length=200), nullable=True),
        sa.Column("not_given_reason", _S(length=300), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('given', 'not_given', 'self_administered')",
            name=op.f("ck_medication_administration_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id", "prescription_id"],
            ["prescription.patient_id", "prescription.id"],
            name="fk_medication_administration_prescription",
        ),
    )
    _0012._indexes(table)
    op.create_index(
        "ix_medication_administration_patient_prescription_id",
        table,
        ["patient_id", "prescription_id"],
    )
    for name, mode in TRACKED:
        _0012._track(name, mode)


def downgrade() -> None:
    op.drop_table("medication_administration")  # drops its triggers too
