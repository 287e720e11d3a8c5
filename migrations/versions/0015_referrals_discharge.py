"""Referrals (remiss) with their status history, discharge planning (lag 2017:612), and the
origin of a care relationship that a referral or a discharge plan gave a unit.

Revision ID: 0015_referrals
Revises: 0014_research_access
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015_referrals"
down_revision: str | None = "0014_research_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables of patient data this revision adds, with how the change-log trigger reads them
# (as TRACKED in 0010_changes).
TRACKED = (("referral", "clinical"), ("referral_event", "row"), ("discharge_plan", "clinical"))

_S = sqlmodel.sql.sqltypes.AutoString
# The clinical header and its indexes and triggers as 0012 wrote them (a frozen revision).
_0012 = importlib.import_module("migrations.versions.0012_boundary_vital_signs")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _check(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_{table}_{column}"))


REFERRAL_STATUS = ("sent", "accepted", "rejected", "answered", "cancelled")


def upgrade() -> None:
    op.add_column("care_relationship", sa.Column("origin", _S(length=20), nullable=True))
    op.add_column("care_relationship", sa.Column("origin_id", sa.Uuid(), nullable=True))
    op.create_check_constraint(
        op.f("ck_care_relationship_origin"),
        "care_relationship",
        "origin IN ('referral', 'discharge_plan')",
    )
    op.create_table(
        "referral",
        *_0012._header("referral"),
        sa.Column("recipient_unit_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_provider_id", sa.Uuid(), nullable=False),
        sa.Column("priority", _S(length=10), nullable=False),
        sa.Column("reason", _S(length=500), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("status", _S(length=12), nullable=False),
        sa.Column("status_reason", _S(length=500), nullable=True),
        sa.Column("outcome_id", sa.Uuid(), nullable=True),
        _fk("referral", "recipient_unit_id", "care_unit"),
        _fk("referral", "recipient_provider_id", "care_provider"),
        sa.ForeignKeyConstraint(
            ["patient_id", "outcome_id"],
            ["referral_outcome.patient_id", "referral_outcome.id"],
            name="fk_referral_outcome",
        ),
        _check("referral", "status", REFERRAL_STATUS),
        _check("referral", "priority", ("routine", "urgent")),
    )
    _0012._indexes("referral")
    op.create_index(
        "ix_referral_recipient_status", "referral", ["recipient_unit_id", "status", "event_time"]
    )
    op.create_table(
        "referral_event",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("status", _S(length=12), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("care_unit_id", sa.Uuid(), nullable=False),
        sa.Column("actor_hsa_id", _S(length=31), nullable=True),
        sa.Column("actor_name", _S(length=200), nullable=True),
        sa.Column("reason", _S(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_referral_event_patient_id_patient")
        ),
        _fk("referral_event", "care_unit_id", "care_unit"),
        sa.ForeignKeyConstraint(
            ["patient_id", "referral_id"],
            ["referral.patient_id", "referral.id"],
            name="fk_referral_event_referral",
        ),
        _check("referral_event", "status", REFERRAL_STATUS),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f("pk_referral_event")),
    )
    op.create_index(
        "ix_referral_event_patient_referral_id_occurred_at",
        "referral_event",
        ["patient_id", "referral_id", "occurred_at"],
    )
    op.create_table(
        "discharge_plan",
        *_0012._header("discharge_plan"),
        sa.Column("municipal_unit_id", sa.Uuid(), nullable=False),
        sa.Column("municipal_provider_id", sa.Uuid(), nullable=False),
        sa.Column("primary_care_unit_id", sa.Uuid(), nullable=True),
        sa.Column("primary_care_provider_id", sa.Uuid(), nullable=True),
        sa.Column("status", _S(length=12), nullable=False),
        sa.Column("expected_needs", _S(length=2000), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_discharge_on", sa.Date(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_hsa_id", _S(length=31), nullable=True),
        sa.Column("acknowledged_by_name", _S(length=200), nullable=True),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True),
        _fk("discharge_plan", "municipal_unit_id", "care_unit"),
        _fk("discharge_plan", "municipal_provider_id", "care_provider"),
        _fk("discharge_plan", "primary_care_unit_id", "care_unit"),
        _fk("discharge_plan", "primary_care_provider_id", "care_provider"),
        _check("discharge_plan", "status", ("enrolled", "ready", "discharged", "cancelled")),
    )
    _0012._indexes("discharge_plan")
    op.create_index(
        "ix_discharge_plan_municipal_status",
        "discharge_plan",
        ["municipal_unit_id", "status", "ready_at"],
    )
    for table, mode in TRACKED:
        _0012._track(table, mode)


def downgrade() -> None:
    for table in ("discharge_plan", "referral_event", "referral"):
        op.drop_table(table)  # drops their triggers too
    op.drop_constraint(op.f("ck_care_relationship_origin"), "care_relationship", type_="check")
    op.drop_column("care_relationship", "origin_id")
    op.drop_column("care_relationship", "origin")
