"""Medication administration (signing lists in municipal home care); tracked in the change log.

Revision ID: 0016_medadmin
Revises: 0015_referrals
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.sql.schema import SchemaItem

revision: str = "0016_medadmin"
down_revision: str | None = "0015_referrals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables of patient data this revision adds, with how the change-log trigger reads them
# (as TRACKED in 0010_changes).
TRACKED = (("medication_administration", "clinical"),)

_S = sqlmodel.sql.sqltypes.AutoString


def _header(table: str) -> list[SchemaItem]:
    """The clinical header of DOMAIN.md section 1 (as app.models.base.ClinicalHeader)."""
    return [
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document_id", _S(length=64), nullable=False),
        sa.Column("source_system_hsa_id", _S(length=31), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("care_provider_id", sa.Uuid(), nullable=False),
        sa.Column("care_unit_id", sa.Uuid(), nullable=False),
        sa.Column("accountable_practitioner_id", sa.Uuid(), nullable=True),
        sa.Column("accountable_hsa_id", _S(length=31), nullable=True),
        sa.Column("accountable_name", _S(length=200), nullable=True),
        sa.Column("accountable_role_code", _S(length=40), nullable=True),
        sa.Column("legal_authenticator_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_authenticator_hsa_id", _S(length=31), nullable=True),
        sa.Column("legal_authenticator_name", _S(length=200), nullable=True),
        sa.Column("approved_for_patient", sa.Boolean(), nullable=False),
        sa.Column("care_contact_id", sa.Uuid(), nullable=True),
        sa.Column("nullified", sa.Boolean(), nullable=False),
        sa.Column("nullified_reason", _S(length=500), nullable=True),
        sa.Column("nullified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["accountable_practitioner_id"],
            ["practitioner.id"],
            name=op.f(f"fk_{table}_accountable_practitioner_id_practitioner"),
        ),
        sa.ForeignKeyConstraint(
            ["care_provider_id"],
            ["care_provider.id"],
            name=op.f(f"fk_{table}_care_provider_id_care_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["care_unit_id"], ["care_unit.id"], name=op.f(f"fk_{table}_care_unit_id_care_unit")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id", "care_contact_id"],
            ["care_contact.patient_id", "care_contact.id"],
            name=f"fk_{table}_care_contact",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f(f"fk_{table}_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f(f"pk_{table}")),
    ]


def _indexes(table: str) -> None:
    op.create_index(f"ix_{table}_patient_event_time", table, ["patient_id", "event_time"])
    op.create_index(
        f"uq_{table}_patient_source_document",
        table,
        ["patient_id", "source_system_hsa_id", "document_id"],
        unique=True,
    )


def _track(table: str, mode: str) -> None:
    for event, transition in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER change_log_{event.lower()} AFTER {event} ON {table}"
            f" REFERENCING {transition} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION change_log_capture('{mode}')"
        )


def upgrade() -> None:
    table = "medication_administration"
    op.create_table(
        table,
        *_header(table),
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
    _indexes(table)
    op.create_index(
        "ix_medication_administration_patient_prescription_id",
        table,
        ["patient_id", "prescription_id"],
    )
    for name, mode in TRACKED:
        _track(name, mode)


def downgrade() -> None:
    op.drop_table("medication_administration")  # drops its triggers too
