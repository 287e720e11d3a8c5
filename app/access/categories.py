"""What kind of data a table holds, as far as the access rules care.

The rules treat some clinical categories specially: medication (A5 block exceptions, A11 NLL),
alerts (A5), municipal SoL/LSS records (A14). Every other table with the clinical header of
DOMAIN.md section 1 is an ordinary clinical table; tables the policy does not know are hidden
from everybody but system integrations (fail closed).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from sqlalchemy import FromClause, Table

# The national medication list (NLL) itself, which a pharmacy's expedition basis opens.
NLL_TABLES = frozenset({"prescription", "dispensation"})
# Rows about one prescription, written elsewhere: what its prescriber is told (A11).
PRESCRIPTION_FOLLOWERS = frozenset({"dispensation", "medication_administration"})
MEDICATION_TABLES = NLL_TABLES | {"medication_administration"}
ALERT_TABLES = frozenset({"alert"})
MUNICIPAL_TABLES = frozenset({"municipal_decision", "implementation_plan"})
HEADER_COLUMNS = frozenset(
    {
        "patient_id",
        "care_provider_id",
        "care_unit_id",
        "event_time",
        "approved_for_patient",
        "nullified",
    }
)
# Unit kinds of municipal elderly/disability care and LSS: their records may be shared (A14).
MUNICIPAL_CARE_UNIT_KINDS = ("home_care", "special_housing", "lss", "municipal_health")
# Rows that belong to a clinical row: table -> (parent table, column naming the parent).
CHILD_TABLES = {
    "plan_activity": ("implementation_plan", "plan_id"),
    "referral_event": ("referral", "referral_id"),
    "sip_participant": ("sip_plan", "plan_id"),
    "sip_goal": ("sip_plan", "plan_id"),
    "sip_action": ("sip_plan", "plan_id"),
}
# Patient demographics that make up the address (A16).
ADDRESS_COLUMNS = ("street_address", "postal_code", "city", "municipality_code")


class Category(Enum):
    PATIENT = "patient"
    CLINICAL = "clinical"
    MEDICATION = "medication"
    ALERT = "alert"
    MUNICIPAL = "municipal"
    # A row that belongs to a clinical row (CHILD_TABLES): visible exactly when its parent is.
    CHILD = "child"
    CONSENT = "consent"
    BLOCK = "block"
    REPRESENTATIVE = "representative"
    CARE_RELATIONSHIP = "care_relationship"
    PORTAL_EXCEPTION = "portal_exception"
    UNKNOWN = "unknown"

    @property
    def is_clinical(self) -> bool:
        return self in CLINICAL_CATEGORIES


CLINICAL_CATEGORIES = frozenset(
    {Category.CLINICAL, Category.MEDICATION, Category.ALERT, Category.MUNICIPAL}
)

_NAMED = {
    "patient": Category.PATIENT,
    "plan_activity": Category.CHILD,
    "referral_event": Category.CHILD,
    **dict.fromkeys(("sip_participant", "sip_goal", "sip_action"), Category.CHILD),
    "consent": Category.CONSENT,
    "block": Category.BLOCK,
    "representative": Category.REPRESENTATIVE,
    "care_relationship": Category.CARE_RELATIONSHIP,
    "portal_access_exception": Category.PORTAL_EXCEPTION,
}


def base_table_name(table: FromClause) -> str:
    """The name of the table behind `table`, also when it is an alias."""
    current: Any = table
    while not isinstance(current, Table) and hasattr(current, "element"):
        current = current.element
    return str(getattr(current, "name", ""))


def classify(table: FromClause) -> Category:
    """The category of `table` (by name, or by the clinical header columns it carries)."""
    name = base_table_name(table)
    if name in _NAMED:
        return _NAMED[name]
    if not set(table.c.keys()) >= HEADER_COLUMNS:
        return Category.UNKNOWN
    if name in MEDICATION_TABLES:
        return Category.MEDICATION
    if name in ALERT_TABLES:
        return Category.ALERT
    if name in MUNICIPAL_TABLES:
        return Category.MUNICIPAL
    return Category.CLINICAL
