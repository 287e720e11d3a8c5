"""An index in the patient lists' order (family name, given name, id), in place of the index
on family name alone.

A clinician's patient list is the first page, in that order, of the patients with a care
relationship at their unit. For a large unit PostgreSQL can then walk the patients in list
order and stop after the page, instead of sorting all of the unit's patients.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_patient_name_order", "patient", ["family_name", "given_name", "id"])
    op.drop_index("ix_patient_family_name", table_name="patient")


def downgrade() -> None:
    op.create_index("ix_patient_family_name", "patient", ["family_name"])
    op.drop_index("ix_patient_name_order", table_name="patient")
