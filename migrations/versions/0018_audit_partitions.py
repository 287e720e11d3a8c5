"""The audit trail partitioned by month of `occurred_at`, and `audit_cut` (where each chain
continues after old partitions were archived).

The entries move, unchanged (ids, hashes, chains), from the heap into a partitioned table
with the same columns: one month partition for every month that has entries, this month and
the next two, and a default partition so that no write ever fails for want of a partition
(`vardkedja audit maintain` creates months ahead and moves what landed in the default). The
primary key becomes (id, occurred_at): a partitioned table's keys must hold the partition key.

Append-only stays: the row trigger of 0002 is cloned to every partition by PostgreSQL; the
TRUNCATE trigger (a statement trigger, not cloned) and the API role's grants are set on each
partition by `audit_entry_guard_partition`, which maintenance calls for new partitions too.

Moving the rows takes an exclusive lock for as long as the copy runs (a few seconds per million
entries): run it in a maintenance window on a large trail.

Revision ID: 0018_audit_partitions
Revises: 0017_replica
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0018_audit_partitions"
down_revision: str | None = "0017_replica"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_ROLE = "vardkedja_api"
AHEAD = 2  # months after this one

GUARD = f"""
CREATE FUNCTION audit_entry_guard_partition(part regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON %s'
    ' FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()', part);
  -- The API role reads and appends through audit_entry only.
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}') THEN
    EXECUTE format('REVOKE ALL ON %s FROM {API_ROLE}', part);
  END IF;
END $$
"""


def _grants(table: str, privileges: str) -> str:
    return f"""
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}') THEN
    REVOKE ALL ON {table} FROM {API_ROLE};
    GRANT {privileges} ON {table} TO {API_ROLE};
  END IF;
END $$
"""


def _append_only(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
    ]


def _month(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _after(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def _copy_sequence(source: str, target: str) -> str:
    """Where the identity of `target` goes on: where the one of `source` stood."""
    return (
        f"SELECT setval(pg_get_serial_sequence('{target}', 'id'), last_value, is_called)"
        f" FROM {source}_id_seq"
    )


def _rename_heap(old: str, new: str) -> None:
    op.execute(f"ALTER TABLE {old} RENAME TO {new}")
    op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}")
    op.execute(f"ALTER INDEX ix_{old}_patient_time RENAME TO ix_{new}_patient_time")
    op.execute(f"ALTER INDEX ix_{old}_chain_id RENAME TO ix_{new}_chain_id")
    op.execute(f"ALTER SEQUENCE {old}_id_seq RENAME TO {new}_id_seq")


def _indexes(table: str, key: str) -> None:
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})")
    op.create_index(f"ix_{table}_patient_time", table, ["patient_id", "occurred_at"])
    op.create_index(f"ix_{table}_chain_id", table, ["chain", "id"])


def upgrade() -> None:
    _rename_heap("audit_entry", "audit_entry_heap")
    op.execute(
        "CREATE TABLE audit_entry (LIKE audit_entry_heap INCLUDING DEFAULTS INCLUDING IDENTITY)"
        " PARTITION BY RANGE (occurred_at)"
    )
    _indexes("audit_entry", "id, occurred_at")
    op.execute(GUARD)
    op.execute("CREATE TABLE audit_entry_default PARTITION OF audit_entry DEFAULT")
    oldest = op.get_bind().execute(sa.text("SELECT min(occurred_at) FROM audit_entry_heap"))
    now = _month(datetime.now(UTC))
    start = _month((oldest.scalar() or now).astimezone(UTC))
    start, stop = min(start, now), now
    for _ in range(AHEAD + 1):
        stop = _after(stop)
    partitions = ["audit_entry_default"]
    while start < stop:
        name = f"audit_entry_p{start:%Y%m}"
        op.execute(
            f"CREATE TABLE {name} PARTITION OF audit_entry"
            f" FOR VALUES FROM ('{start.isoformat()}') TO ('{_after(start).isoformat()}')"
        )
        partitions.append(name)
        start = _after(start)
    op.execute("INSERT INTO audit_entry SELECT * FROM audit_entry_heap")
    op.execute(_copy_sequence("audit_entry_heap", "audit_entry"))
    op.execute("DROP TABLE audit_entry_heap")
    for statement in _append_only("audit_entry"):
        op.execute(statement)
    for name in partitions:
        op.execute(f"SELECT audit_entry_guard_partition('{name}')")
    op.execute(_grants("audit_entry", "SELECT, INSERT"))
    op.create_table(
        "audit_cut",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("chain", sa.SmallInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("archived_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archive_sha256", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_cut")),
    )
    for statement in _append_only("audit_cut"):
        op.execute(statement)
    op.execute(_grants("audit_cut", "SELECT"))


def downgrade() -> None:
    archived = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_cut")).scalar()
    if archived:
        # Without the cuts the remaining entries no longer verify from the chains' start.
        raise RuntimeError("audit partitions were archived (audit_cut): cannot downgrade 0018")
    op.drop_table("audit_cut")
    op.execute(
        "CREATE TABLE audit_entry_heap (LIKE audit_entry INCLUDING DEFAULTS INCLUDING IDENTITY)"
    )
    op.execute("INSERT INTO audit_entry_heap SELECT * FROM audit_entry")
    op.execute(_copy_sequence("audit_entry", "audit_entry_heap"))
    op.execute("DROP TABLE audit_entry")  # with its partitions
    op.execute("DROP FUNCTION audit_entry_guard_partition(regclass)")
    _indexes("audit_entry_heap", "id")
    _rename_heap("audit_entry_heap", "audit_entry")
    for statement in _append_only("audit_entry"):
        op.execute(statement)
    op.execute(_grants("audit_entry", "SELECT, INSERT"))
