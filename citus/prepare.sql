-- What Citus cannot enforce as the schema stands: run on the coordinator before distribute.sql
-- (plain PostgreSQL: tests/integration/test_citus_plan.py runs it, then checks the catalog).
-- Each change gives something up; docs/data-model.md ("Distributing by patient") says what.
BEGIN;

-- A guardian's link to the child they act for points at another patient, on another shard:
-- a foreign key between distributed tables must pair their distribution columns.
ALTER TABLE representative DROP CONSTRAINT fk_representative_representative_patient_id_patient;

-- One personnummer, one patient: a unique index on a distributed table must hold its
-- distribution column, and this one is across all patients. Obstacle: the uniqueness needs a
-- lookup table keyed by identifier (not built).
DROP INDEX uq_patient_identifier;

-- Identifiers of other systems are unique across patients, so patient_identifier is a
-- reference table, and a reference table may not point at a distributed one.
ALTER TABLE patient_identifier DROP CONSTRAINT fk_patient_identifier_patient_id_patient;

-- Keys that lead with the patient. Obstacle: the FHIR import's ON CONFLICT (table_name,
-- row_id) must then name patient_id too (app/fhir/importer.py, not changed).
ALTER TABLE fhir_preserved DROP CONSTRAINT pk_fhir_preserved,
  ADD CONSTRAINT pk_fhir_preserved PRIMARY KEY (patient_id, table_name, row_id);

-- The change log is written by triggers on the patient tables, so it lives with them. Obstacle:
-- its global order (txid, position) is one node's; the feed would need per-shard cursors.
ALTER TABLE change_log DROP CONSTRAINT pk_change_log,
  ADD CONSTRAINT pk_change_log PRIMARY KEY (patient_id, recorded_at, position);

COMMIT;
