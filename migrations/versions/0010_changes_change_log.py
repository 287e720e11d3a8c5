"""The change log: one entry per written patient row, by trigger, in the writing transaction.

Every table that holds a patient's data gets two statement-level AFTER triggers (INSERT,
UPDATE; DELETE too, for completeness) with transition tables: one INSERT ... SELECT into
`change_log` per statement, however many rows it wrote (COPY included), so that mutations, the
FHIR importer, the seed and anything else that writes are covered without code of their own.
Each statement also NOTIFYs `vardkedja_changes` with an empty payload (identical notifications
of one transaction collapse into one, delivered at commit): subscriptions listen for it.

`change_log` is range-partitioned by `recorded_at` (month partitions `change_log_pYYYYMM`,
plus a default partition so that a write never fails for want of one); retention drops whole
partitions (app/changes/retention.py, `vardkedja changes maintain`).

Revision ID: 0010_changes
Revises: 0009_fhir
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_changes"
down_revision: str | None = "0009_fhir"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, how the trigger reads it): 'patient' (its id is the patient), 'clinical' (has the
# nullified flag), 'row' (any other patient-scoped row).
CLINICAL = (
    "care_contact",
    "care_document",
    "diagnosis",
    "alert",
    "functional_status",
    "lab_result",
    "referral_outcome",
    "vaccination",
    "prescription",
    "dispensation",
    "dental_treatment",
    "tooth_finding",
    "municipal_decision",
    "implementation_plan",
)
ROWS = (
    "plan_activity",
    "consent",
    "block",
    "representative",
    "care_relationship",
    "portal_access_exception",
)
TRACKED = (
    ("patient", "patient"),
    *((t, "clinical") for t in CLINICAL),
    *((t, "row") for t in ROWS),
)

CAPTURE = """
CREATE FUNCTION change_log_capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  -- One statement per written statement; plans are cached per table (PL/pgSQL compiles a
  -- trigger function once per relation), so the branches below never see another table.
  IF TG_OP = 'DELETE' THEN
    IF TG_ARGV[0] = 'patient' THEN
      INSERT INTO change_log (patient_id, category, record_id, kind)
      SELECT o.id, TG_TABLE_NAME, o.id, 'deleted' FROM old_rows o;
    ELSE
      INSERT INTO change_log (patient_id, category, record_id, kind)
      SELECT o.patient_id, TG_TABLE_NAME, o.id, 'deleted' FROM old_rows o;
    END IF;
  ELSIF TG_ARGV[0] = 'patient' THEN
    INSERT INTO change_log (patient_id, category, record_id, kind)
    SELECT n.id, TG_TABLE_NAME, n.id,
           CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END
    FROM new_rows n;
  ELSIF TG_ARGV[0] = 'clinical' AND TG_OP = 'UPDATE' THEN
    INSERT INTO change_log (patient_id, category, record_id, kind)
    SELECT n.patient_id, TG_TABLE_NAME, n.id,
           CASE WHEN n.nullified AND NOT o.nullified THEN 'nullified' ELSE 'updated' END
    FROM new_rows n JOIN old_rows o ON o.patient_id = n.patient_id AND o.id = n.id;
  ELSE
    INSERT INTO change_log (patient_id, category, record_id, kind)
    SELECT n.patient_id, TG_TABLE_NAME, n.id,
           CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END
    FROM new_rows n;
  END IF;
  PERFORM pg_notify('vardkedja_changes', '');
  RETURN NULL;
END $$;
"""


def _month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE change_log_position_seq")
    op.create_table(
        "change_log",
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "position",
            sa.BigInteger(),
            server_default=sa.text("nextval('change_log_position_seq')"),
            nullable=False,
        ),
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id())::text::bigint"),
            nullable=False,
        ),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.PrimaryKeyConstraint("recorded_at", "position", name=op.f("pk_change_log")),
        postgresql_partition_by="RANGE (recorded_at)",
    )
    op.execute("ALTER SEQUENCE change_log_position_seq OWNED BY change_log.position")
    op.create_index("ix_change_log_txid_position", "change_log", ["txid", "position"])
    op.create_index(
        "ix_change_log_patient_txid_position", "change_log", ["patient_id", "txid", "position"]
    )
    op.execute("CREATE TABLE change_log_default PARTITION OF change_log DEFAULT")
    now = datetime.now(UTC)
    year, month = now.year, now.month
    for _ in range(3):  # this month and the next two; `vardkedja changes maintain` adds more
        after = _month(year, month)
        op.execute(
            f"CREATE TABLE change_log_p{year:04d}{month:02d} PARTITION OF change_log"
            f" FOR VALUES FROM ('{year:04d}-{month:02d}-01 00:00:00+00')"
            f" TO ('{after[0]:04d}-{after[1]:02d}-01 00:00:00+00')"
        )
        year, month = after
    op.create_table(
        "change_log_horizon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("txid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("dropped_before", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log_horizon")),
    )
    op.execute("INSERT INTO change_log_horizon (id, txid, position) VALUES (1, 0, 0)")
    op.execute(CAPTURE)
    _webhooks()
    for table, mode in TRACKED:
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


def _webhooks() -> None:
    """Endpoints of system integrations and their deliveries (app/changes/webhooks.py)."""
    op.create_table(
        "webhook",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("categories", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("care_unit_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("cursor_txid", sa.BigInteger(), nullable=False),
        sa.Column("cursor_position", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhook.id"], name=op.f("fk_webhook_delivery_webhook_id_webhook")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    op.create_index(
        "ix_webhook_delivery_webhook_created", "webhook_delivery", ["webhook_id", "created_at"]
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("webhook_delivery")
    op.drop_table("webhook")
    for table, _ in TRACKED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS change_log_{event} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS change_log_capture()")
    op.drop_table("change_log_horizon")
    op.drop_table("change_log")  # drops its partitions and the owned sequence
