"""The API's database role: ordinary privileges everywhere, but only SELECT and INSERT on the
audit trail (no UPDATE, DELETE or TRUNCATE), on top of the append-only trigger of 0002.

`vardkedja_api` is a NOLOGIN group role; the service logs in as a member of it (see
docs/privacy.md, "Running the API as vardkedja_api"). Roles belong to the whole server, so the
role is created only if missing, and a migrating user without CREATEROLE gets a notice instead
of a failure (a DBA then creates the role and re-runs the grants below).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_ROLE = "vardkedja_api"

UPGRADE = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}') THEN
    BEGIN
      CREATE ROLE {API_ROLE} NOLOGIN;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'cannot create role {API_ROLE}; create it as a DBA and re-run the grants';
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}') THEN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {API_ROLE}', current_schema());
    EXECUTE format(
      'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO {API_ROLE}',
      current_schema());
    EXECUTE format(
      'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES'
      ' TO {API_ROLE}', current_schema());
    -- The audit trail: append and read, never change (A12).
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_entry FROM {API_ROLE};
    -- The service checks the schema version at start; only migrations change it.
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {API_ROLE};
  END IF;
END $$
"""

DOWNGRADE = f"""
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}') THEN
    EXECUTE format(
      'ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES'
      ' FROM {API_ROLE}', current_schema());
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM {API_ROLE}', current_schema());
    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM {API_ROLE}', current_schema());
  END IF;
END $$
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    # The role itself stays: it is server-wide and other databases may use it.
    op.execute(DOWNGRADE)
