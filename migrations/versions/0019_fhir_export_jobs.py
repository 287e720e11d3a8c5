"""Bulk Data $export jobs in the database instead of one server process's memory: any process
answers a poll, and a job whose process is gone is run again (app/fhir/export_jobs.py).

Revision ID: 0019_fhir_export_jobs
Revises: 0012_boundary
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019_fhir_export_jobs"
down_revision: str | None = "0012_boundary"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "fhir_export_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", _S(length=300), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("types", sa.Text(), nullable=True),
        sa.Column("transaction_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", _S(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_export_job")),
    )
    op.create_index("ix_fhir_export_job_expires_at", "fhir_export_job", ["expires_at"])
    op.create_table(
        "fhir_export_file",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("resource_type", _S(length=64), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["fhir_export_job.id"],
            name=op.f("fk_fhir_export_file_job_id_fhir_export_job"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "job_id", "resource_type", "part", name=op.f("pk_fhir_export_file")
        ),
    )


def downgrade() -> None:
    op.drop_table("fhir_export_file")
    op.drop_table("fhir_export_job")
