"""Every audit write checks the audit key: audit_key_check(fingerprint), called by the audit
INSERT itself (app/audit.py), raises unless the fingerprint recorded in audit_key_fingerprint
(0017_replica) is the writer's. A replica whose key differs from the chain's, because another
process rotated the key after it started or it started beside one with another key, writes no
entry. No recorded fingerprint (a database that `serve` never started on) is not checked.

Revision ID: 0021_audit_key_check
Revises: 0020_sip_action_note
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_audit_key_check"
down_revision: str | None = "0020_sip_action_note"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The SQLSTATE app/audit.py recognises (class VK: vardkedja; any five letters or digits).
MISMATCH = "VKA01"


def upgrade() -> None:
    op.execute(
        f"""
CREATE FUNCTION audit_key_check(mine text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
  stored text;
BEGIN
  SELECT fingerprint INTO stored FROM audit_key_fingerprint WHERE id = 1;
  IF stored IS NOT NULL AND stored <> mine THEN
    RAISE EXCEPTION 'the audit trail is chained under another key (fingerprint %, this process has %): no entry is written',
      left(stored, 12), left(mine, 12)
      USING ERRCODE = '{MISMATCH}',
            HINT = 'every replica must use the shared VARDKEDJA_AUDIT_KEY; restart it with that key';
  END IF;
  RETURN true;
END
$$
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_key_check(text)")
