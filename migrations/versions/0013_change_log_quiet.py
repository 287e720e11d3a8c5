"""The change log without NOTIFY in its triggers; entries of their own for a patient's
identifiers and for the FHIR elements preserved for export.

A NOTIFY in a writing transaction takes a database-wide lock at commit, held through the
commit's WAL flush: every notifying transaction committed one after another (measured: two
thirds of the log's cost to a single-row write). The triggers now only INSERT; listeners learn
of new entries from the writing server process after its commit, from one NOTIFY that process
sends outside any write transaction, or by polling the log (app/changes/notify.py).

`patient_identifier` (no id of its own) logs the patient as the changed record (category
patient_identifier, kind updated); `fhir_preserved` logs the row whose preserved remainder
changed, with that row's table in the new column `record_table` (category fhir_preserved, kind
updated: the row's FHIR form changed, whether the remainder was written or cleared).

Revision ID: 0013_changes_quiet
Revises: 0016_medadmin
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013_changes_quiet"
down_revision: str | None = "0016_medadmin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, mode) as TRACKED in 0010_changes; the two modes are new (see CAPTURE).
TRACKED = (("patient_identifier", "identifier"), ("fhir_preserved", "preserved"))

CAPTURE = """
CREATE OR REPLACE FUNCTION change_log_capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  -- One statement per written statement; plans are cached per table (PL/pgSQL compiles a
  -- trigger function once per relation), so the branches below never see another table.
  IF TG_ARGV[0] = 'identifier' THEN
    IF TG_OP = 'DELETE' THEN
      INSERT INTO change_log (patient_id, category, record_id, kind)
      SELECT DISTINCT o.patient_id, TG_TABLE_NAME, o.patient_id, 'updated' FROM old_rows o;
    ELSE
      INSERT INTO change_log (patient_id, category, record_id, kind)
      SELECT DISTINCT n.patient_id, TG_TABLE_NAME, n.patient_id, 'updated' FROM new_rows n;
    END IF;
  ELSIF TG_ARGV[0] = 'preserved' THEN
    IF TG_OP = 'DELETE' THEN
      INSERT INTO change_log (patient_id, category, record_id, kind, record_table)
      SELECT o.patient_id, TG_TABLE_NAME, o.row_id, 'updated', o.table_name FROM old_rows o;
    ELSE
      INSERT INTO change_log (patient_id, category, record_id, kind, record_table)
      SELECT n.patient_id, TG_TABLE_NAME, n.row_id, 'updated', n.table_name FROM new_rows n;
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
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
  RETURN NULL;
END $$;
"""


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
    # Nullable, no default: a change of the catalog only, on every partition.
    op.add_column(
        "change_log",
        sa.Column("record_table", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    )
    op.execute(CAPTURE)
    for table, mode in TRACKED:
        _track(table, mode)


def downgrade() -> None:
    import importlib.util
    from pathlib import Path

    for table, _ in TRACKED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS change_log_{event} ON {table}")
    # 0010's function, NOTIFY included.
    path = Path(__file__).with_name("0010_changes_change_log.py")
    spec = importlib.util.spec_from_file_location("change_log_0010", path)
    assert spec is not None and spec.loader is not None
    earlier = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(earlier)
    op.execute(earlier.CAPTURE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute("DELETE FROM change_log WHERE category IN ('patient_identifier', 'fhir_preserved')")
    op.drop_column("change_log", "record_table")
