"""`audit_chain_head(lock, chain)`: take a chain's lock and read its head in one round trip.

An audit flush (app/audit.py) used two statements before its INSERT: the chain's advisory lock,
then the chain's last hash. They cannot be one plain statement: under READ COMMITTED a statement
reads the snapshot taken when it starts, before the lock it waits for, and could miss the head
that the previous holder committed meanwhile (the chain would fork). In a VOLATILE PL/pgSQL
function every statement takes a fresh snapshot, so the read after PERFORM sees what the
previous holder committed. The function runs with the caller's rights (SECURITY INVOKER): the
API role reads audit_entry and audit_cut as before.

Revision ID: 0022_audit_chain_head
Revises: 0021_audit_key_check
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_audit_chain_head"
down_revision: str | None = "0021_audit_key_check"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The head of a chain as app/audit.py read it before (its comment explains the three branches).
FUNCTION = """
CREATE FUNCTION audit_chain_head(lock_key integer, chain_no integer)
RETURNS TABLE (hash varchar, occurred_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key, chain_no);
    RETURN QUERY
    (SELECT e.hash, e.occurred_at FROM audit_entry e
      WHERE e.chain = chain_no AND e.occurred_at > now() - interval '40 days'
      ORDER BY e.id DESC LIMIT 1)
    UNION ALL
    (SELECT e.hash, e.occurred_at FROM audit_entry e WHERE e.chain = chain_no
      ORDER BY e.id DESC LIMIT 1)
    UNION ALL
    (SELECT c.hash, c.occurred_at FROM audit_cut c WHERE c.chain = chain_no
      ORDER BY c.entry_id DESC LIMIT 1)
    LIMIT 1;
END
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_chain_head(integer, integer)")
