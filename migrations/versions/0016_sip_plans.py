"""SIP (samordnad individuell plan): plans shared by a region and a municipality, with their
participants, goals and actions; tracked in the change log.

Revision ID: 0016_sip
Revises: 0013_changes_quiet
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.sql.schema import SchemaItem

revision: str = "0016_sip"
down_revision: str | None = "0013_changes_quiet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRACKED = (
    ("sip_plan", "clinical"),
    ("sip_participant", "row"),
    ("sip_goal", "row"),
    ("sip_action", "row"),
)

_S = sqlmodel.sql.sqltypes.AutoString
# The clinical header and its indexes and triggers as 0012 wrote them (a frozen revision).
_0012 = importlib.import_module("migrations.versions.0012_boundary_vital_signs")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _part(table: str) -> list[SchemaItem]:
    """Columns of a row of a plan: its key, the plan, and who wrote it where."""
    return [
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("written_by_unit_id", sa.Uuid(), nullable=False),
        sa.Column("written_by_hsa_id", _S(length=31), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f(f"fk_{table}_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id", "plan_id"],
            ["sip_plan.patient_id", "sip_plan.id"],
            name=f"fk_{table}_plan",
        ),
        _fk(table, "written_by_unit_id", "care_unit"),
        sa.PrimaryKeyConstraint("patient_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "sip_plan",
        *_0012._header("sip_plan"),
        sa.Column("title", _S(length=200), nullable=False),
        sa.Column("situation", sa.Text(), nullable=False),
        sa.Column("status", _S(length=12), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'cancelled')", name=op.f("ck_sip_plan_status")
        ),
    )
    _0012._indexes("sip_plan")
    op.create_table(
        "sip_participant",
        *_part("sip_participant"),
        sa.Column("care_unit_id", sa.Uuid(), nullable=True),
        sa.Column("care_provider_id", sa.Uuid(), nullable=True),
        sa.Column("name", _S(length=200), nullable=False),
        sa.Column("role", _S(length=100), nullable=False),
        _fk("sip_participant", "care_unit_id", "care_unit"),
        _fk("sip_participant", "care_provider_id", "care_provider"),
    )
    op.create_table(
        "sip_goal",
        *_part("sip_goal"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("goal", _S(length=500), nullable=False),
    )
    op.create_table(
        "sip_action",
        *_part("sip_action"),
        sa.Column("goal_id", sa.Uuid(), nullable=True),
        sa.Column("description", _S(length=1000), nullable=False),
        sa.Column("responsible_provider_id", sa.Uuid(), nullable=False),
        sa.Column("responsible_unit_id", sa.Uuid(), nullable=True),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("status", _S(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id", "goal_id"],
            ["sip_goal.patient_id", "sip_goal.id"],
            name="fk_sip_action_goal",
        ),
        _fk("sip_action", "responsible_provider_id", "care_provider"),
        _fk("sip_action", "responsible_unit_id", "care_unit"),
        sa.CheckConstraint(
            "status IN ('planned', 'done', 'cancelled')", name=op.f("ck_sip_action_status")
        ),
    )
    for table in ("sip_participant", "sip_goal", "sip_action"):
        op.create_index(f"ix_{table}_patient_plan_id", table, ["patient_id", "plan_id"])
    for table, mode in TRACKED:
        _0012._track(table, mode)


def downgrade() -> None:
    for table in ("sip_action", "sip_goal", "sip_participant", "sip_plan"):
        op.drop_table(table)  # drops their triggers too
