"""Column order of every table the generator fills: rows are plain tuples in this order.

A unit test checks these lists against SQLModel.metadata, so a new column cannot be missed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.models.base import HEADER_COLUMNS, PATIENT_ROW_COLUMNS

Row = tuple[Any, ...]

PATIENT_ROW = PATIENT_ROW_COLUMNS
HEADER = (*PATIENT_ROW, *HEADER_COLUMNS)

# Reference tables (shared by all patients), in foreign-key order.
REFERENCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "municipality": ("code", "name", "county_code"),
    "care_provider": (
        "id",
        "hsa_id",
        "name",
        "organisation_number",
        "kind",
        "municipality_code",
        "public",
    ),
    "care_unit": ("id", "hsa_id", "name", "care_provider_id", "kind", "municipality_code", "gln"),
    "practitioner": ("id", "hsa_id", "given_name", "family_name", "profession"),
    "assignment": (
        "id",
        "practitioner_id",
        "care_unit_id",
        "care_provider_id",
        "role",
        "purpose",
        "valid_from",
        "valid_to",
    ),
    "research_study": (
        "id",
        "name",
        "ethics_approval_ref",
        "approved_on",
        "client_id",
        "release_free_text",
        "release_clinician_identity",
        "time_precision",
        "min_cell_size",
        "allows_record_access",
    ),
}

# Patient tables, in foreign-key order (a row only refers to tables listed before it).
PATIENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "patient": (
        "id",
        "identifier_kind",
        "identifier",
        "reserve_issuer",
        "given_name",
        "family_name",
        "birth_date",
        "sex",
        "protected_identity",
        "street_address",
        "postal_code",
        "city",
        "municipality_code",
        "deceased_on",
        "created_at",
        "updated_at",
        "version",
    ),
    "representative": (
        *PATIENT_ROW,
        "representative_patient_id",
        "kind",
        "valid_from",
        "valid_to",
        "representative_identifier",
    ),
    "care_relationship": (
        *PATIENT_ROW,
        "care_unit_id",
        "care_provider_id",
        "practitioner_id",
        "valid_from",
        "valid_to",
        "origin",
        "origin_id",
    ),
    "care_contact": (*HEADER, "contact_type", "reason", "period_end", "status"),
    "care_document": (*HEADER, "document_type", "title", "text"),
    "diagnosis": (*HEADER, "code", "display", "diagnosis_type"),
    "alert": (
        *HEADER,
        "alert_type",
        "description",
        "valid_from",
        "valid_to",
        "agent_npl_id",
        "agent_atc_code",
        "agent_text",
        "severity",
        "condition_code",
        "treatment_code",
    ),
    "functional_status": (*HEADER, "assessment_type", "icf_code", "text"),
    "lab_result": (
        *HEADER,
        "order_id",
        "code_system",
        "code",
        "name",
        "value_numeric",
        "value_text",
        "unit",
        "interpretation",
        "reference_low",
        "reference_high",
        "specimen",
    ),
    "referral_outcome": (
        *HEADER,
        "outcome_type",
        "text",
        "referral_id",
        "referral_reason",
        "referral_author",
    ),
    "vaccination": (
        *HEADER,
        "vaccine_name",
        "vaccine_npl_id",
        "atc_code",
        "target_disease",
        "dose_number",
        "batch",
        "performer_name",
    ),
    "prescription": (
        *HEADER,
        "kind",
        "chain_id",
        "replaces_id",
        "drug_npl_id",
        "npl_pack_id",
        "atc_code",
        "drug_name",
        "strength",
        "form",
        "dosage_text",
        "dose_quantity",
        "dose_unit",
        "doses_per_day",
        "amount",
        "dispensations_allowed",
        "dispensation_interval_days",
        "non_replaceable",
        "valid_until",
        "reason",
        "status",
        "discontinued_reason",
    ),
    "dispensation": (
        *HEADER,
        "prescription_id",
        "amount",
        "article_npl_pack_id",
        "article_name",
        "reverses_id",
    ),
    "medication_administration": (
        *HEADER,
        "prescription_id",
        "outcome",
        "planned_at",
        "dose_text",
        "not_given_reason",
    ),
    "sip_plan": (*HEADER, "title", "situation", "status", "follow_up_on"),
    "vital_signs": (
        *HEADER,
        "respiration_rate",
        "spo2",
        "hypercapnic_scale",
        "supplemental_oxygen",
        "systolic_bp",
        "diastolic_bp",
        "pulse",
        "consciousness",
        "temperature",
        "news2_score",
        "news2_risk",
    ),
    "sip_participant": (
        *PATIENT_ROW,
        "plan_id",
        "written_by_unit_id",
        "written_by_hsa_id",
        "written_at",
        "care_unit_id",
        "care_provider_id",
        "name",
        "role",
    ),
    "sip_goal": (
        *PATIENT_ROW,
        "plan_id",
        "written_by_unit_id",
        "written_by_hsa_id",
        "written_at",
        "position",
        "goal",
    ),
    "sip_action": (
        *PATIENT_ROW,
        "plan_id",
        "written_by_unit_id",
        "written_by_hsa_id",
        "written_at",
        "goal_id",
        "description",
        "responsible_provider_id",
        "responsible_unit_id",
        "follow_up_on",
        "status",
        "status_note",
        "status_set_at",
        "status_set_by_hsa_id",
    ),
    "dental_treatment": (
        *HEADER,
        "condition_code",
        "procedure_code",
        "procedure_text",
        "tooth",
        "surface",
        "price_sek",
    ),
    "tooth_finding": (*HEADER, "tooth", "surface", "finding_code", "finding_text"),
    "municipal_decision": (
        *HEADER,
        "legal_basis_code",
        "insats_code",
        "municipality_code",
        "applied_on",
        "decided_on",
        "valid_from",
        "valid_to",
        "extent_amount",
        "extent_unit",
        "outcome",
        "case_officer_name",
        "motivation",
    ),
    "implementation_plan": (*HEADER, "decision_id", "goals", "follow_up_on"),
    "plan_activity": (
        *PATIENT_ROW,
        "plan_id",
        "position",
        "goal",
        "description",
        "responsible",
        "when_how",
        "follow_up_on",
    ),
    "block": (
        *PATIENT_ROW,
        "kind",
        "care_provider_id",
        "care_unit_id",
        "records_from",
        "records_to",
        "except_medication",
        "except_alerts",
        "placed_at",
        "lifted_at",
    ),
    "consent": (
        *PATIENT_ROW,
        "kind",
        "care_provider_id",
        "care_unit_id",
        "practitioner_id",
        "research_study_id",
        "block_id",
        "given_by",
        "valid_from",
        "valid_to",
        "revoked_at",
        "recorded_by_hsa_id",
    ),
    # Seeded after the rest (app/seed/referrals.py): a referral points at its answer.
    "referral": (
        *HEADER,
        "recipient_unit_id",
        "recipient_provider_id",
        "priority",
        "reason",
        "question",
        "status",
        "status_reason",
        "outcome_id",
    ),
    "referral_event": (
        *PATIENT_ROW,
        "referral_id",
        "status",
        "occurred_at",
        "care_unit_id",
        "actor_hsa_id",
        "actor_name",
        "reason",
    ),
    "discharge_plan": (
        *HEADER,
        "municipal_unit_id",
        "municipal_provider_id",
        "primary_care_unit_id",
        "primary_care_provider_id",
        "status",
        "expected_needs",
        "ready_at",
        "planned_discharge_on",
        "acknowledged_at",
        "acknowledged_by_hsa_id",
        "acknowledged_by_name",
        "discharged_at",
    ),
}

ALL_COLUMNS = {**REFERENCE_COLUMNS, **PATIENT_COLUMNS}
# A10 exceptions are granted one by one by heads of units (docs/privacy.md); the demo has none.
# The change log is written by triggers and webhooks by system integrations (docs/changes.md).
NOT_SEEDED = frozenset(
    {
        "audit_entry",
        "audit_cut",
        "idempotency_key",
        "legal_basis",
        "insats",
        "portal_access_exception",
        # Identifiers of other systems: only FHIR imports bring them.
        "patient_identifier",
        "fhir_preserved",
        # Written by the database itself (triggers) or by integrations.
        "change_log",
        "change_log_horizon",
        # Bulk Data $export jobs are made by clients (docs/fhir.md).
        "fhir_export_job",
        "fhir_export_file",
        "webhook",
        "webhook_delivery",
        # Recorded by `serve` at its first start (app/audit_key_guard.py).
        "audit_key_fingerprint",
    }
)


class Rows:
    """Rows of one batch, per patient table, in insertion order."""

    __slots__ = ("by_table",)

    def __init__(self) -> None:
        self.by_table: dict[str, list[Row]] = {name: [] for name in PATIENT_COLUMNS}

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.by_table.values())

    def extend(self, other: Rows) -> None:
        for name, rows in other.by_table.items():
            self.by_table[name].extend(rows)

    def items(self) -> Iterator[tuple[str, list[Row]]]:
        return iter(self.by_table.items())
