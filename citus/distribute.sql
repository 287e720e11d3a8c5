-- The distribution plan of docs/data-model.md, for a Citus coordinator: run citus/prepare.sql
-- first, then this, as the owner of the tables (after `vardkedja migrate`). Every table of the
-- schema is named once: distributed, reference, or local (kept on the coordinator).
-- tests/integration/test_citus_plan.py checks this plan against the catalog.
SET citus.enable_unsafe_triggers = on;  -- the change-log triggers write a co-located shard

-- Reference data, small and shared: replicated to every node.
SELECT create_reference_table('municipality');
SELECT create_reference_table('care_provider');
SELECT create_reference_table('care_unit');
SELECT create_reference_table('practitioner');
SELECT create_reference_table('assignment');
SELECT create_reference_table('legal_basis');
SELECT create_reference_table('insats');
SELECT create_reference_table('research_study');
-- Unique across patients (prepare.sql): a lookup from identifier to patient.
SELECT create_reference_table('patient_identifier');

-- The patient and everything about them, co-located by patient.
SELECT create_distributed_table('patient', 'id');
SELECT create_distributed_table('representative', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('care_relationship', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('portal_access_exception', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('block', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('consent', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('care_contact', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('care_document', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('diagnosis', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('alert', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('functional_status', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('lab_result', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('referral_outcome', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('vaccination', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('vital_signs', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('prescription', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('dispensation', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('dental_treatment', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('tooth_finding', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('municipal_decision', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('implementation_plan', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('plan_activity', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('referral', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('referral_event', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('discharge_plan', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('medication_administration', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('sip_plan', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('sip_participant', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('sip_goal', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('sip_action', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('fhir_preserved', 'patient_id', colocate_with => 'patient');
SELECT create_distributed_table('change_log', 'patient_id', colocate_with => 'patient');

-- Keyed by the caller, not the patient: a colocation group of its own.
SELECT create_distributed_table('idempotency_key', 'principal_id', colocate_with => 'none');

-- Local, on the coordinator: the audit trail's 16 hash chains are sequences in id order that
-- one node appends (docs/data-model.md: the emergency step-1 check joins it with patient, which
-- is untested on Citus); and what only the service's own bookkeeping reads.
-- local: audit_entry
-- local: audit_cut
-- local: audit_key_fingerprint
-- local: change_log_horizon
-- local: webhook
-- local: webhook_delivery
-- local: fhir_export_job
-- local: fhir_export_file
-- local: alembic_version
