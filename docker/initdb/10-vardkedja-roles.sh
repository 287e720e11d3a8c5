#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
# Creates the database's owner (runs migrations; no superuser) and the API's login role
# (a member of the restricted group role vardkedja_api that migration 0003 grants privileges
# to: it may only read and append the audit trail). Passwords come from the environment.
set -eu
: "${VARDKEDJA_OWNER_PASSWORD:?set VARDKEDJA_OWNER_PASSWORD}"
: "${VARDKEDJA_APP_PASSWORD:?set VARDKEDJA_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$VARDKEDJA_OWNER_PASSWORD" -v app_password="$VARDKEDJA_APP_PASSWORD" <<'SQL'
DO $$ BEGIN CREATE ROLE vardkedja_api NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE ROLE vardkedja_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE vardkedja_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
GRANT vardkedja_api TO vardkedja_app;
CREATE DATABASE vardkedja OWNER vardkedja_owner;
REVOKE ALL ON DATABASE vardkedja FROM PUBLIC;
GRANT CONNECT ON DATABASE vardkedja TO vardkedja_app;
SQL
