"""`audit_append(...)`: extend a chain in one statement, when its head is the one expected.

The audit group (app/audit_group.py) writes the entries of concurrent reads. It used a
transaction of four round trips: BEGIN, the chain's lock and head (audit_chain_head), the
INSERT, COMMIT. Its writer is the only one of its process and keeps its own chain, so it knows
that chain's head from its last write. This function takes the lock, reads the head
(audit_chain_head: a fresh snapshot after the wait) and inserts the entries, linked by the
caller to `expected`, only when the head is `expected` (NULL: an empty chain); otherwise it
writes nothing and returns the head, for the caller to link again. One statement, so it can
run without a transaction of its own: the lock is held until the statement's implicit
transaction commits. The INSERT checks the writer's key as app/audit.py's does
(audit_key_check, migration 0021). SECURITY INVOKER, as audit_chain_head.

Revision ID: 0023_audit_append
Revises: 0022_audit_chain_head
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_audit_append"
down_revision: str | None = "0022_audit_chain_head"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns app/audit.py inserts (INSERTED), in its order, with the types of its INSERT.
COLUMNS = (
    ("occurred_at", "timestamptz"),
    ("principal_kind", "varchar"),
    ("principal_id", "varchar"),
    ("principal_name", "varchar"),
    ("care_unit_hsa_id", "varchar"),
    ("care_provider_hsa_id", "varchar"),
    ("client_id", "varchar"),
    ("patient_id", "uuid"),
    ("purpose", "varchar"),
    ("action", "varchar"),
    ("operation", "varchar"),
    ("resources", "jsonb"),
    ("outcome", "varchar"),
    ("reason", "varchar"),
    ("review_required", "boolean"),
    ("chain", "smallint"),
    ("prev_hash", "varchar"),
    ("hash", "varchar"),
)
ARGUMENTS = ", ".join(f"a_{name} {kind}[]" for name, kind in COLUMNS)
SIGNATURE = "integer, integer, varchar, text, " + ", ".join(f"{kind}[]" for _, kind in COLUMNS)

FUNCTION = f"""
CREATE FUNCTION audit_append(
    lock_key integer, chain_no integer, expected varchar, mine text, {ARGUMENTS})
RETURNS TABLE (written boolean, head_hash varchar, head_occurred_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found_hash varchar;
    found_at timestamptz;
BEGIN
    SELECT h.hash, h.occurred_at INTO found_hash, found_at
      FROM audit_chain_head(lock_key, chain_no) h;
    IF found_hash IS DISTINCT FROM expected THEN
        RETURN QUERY SELECT false, found_hash, found_at;
        RETURN;
    END IF;
    INSERT INTO audit_entry ({", ".join(name for name, _ in COLUMNS)})
    SELECT * FROM unnest({", ".join(f"a_{name}" for name, _ in COLUMNS)})
    WHERE audit_key_check(mine);
    RETURN QUERY SELECT true, NULL::varchar, NULL::timestamptz;
END
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION audit_append({SIGNATURE})")
