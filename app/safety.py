"""Clinical safety tables, as data: what the API flags or warns about.

- Critical alerts (EmergencyOverview): alert information the emergency department must see first.
- Blood group: modelled as a laboratory observation (LOINC 882-1, "ABO and Rh group"); the
  newest such result is the patient's blood group.
- Hypersensitivity classes: a recorded hypersensitivity to a drug of one of these ATC classes
  makes prescribing or dispensing any drug of the same class a warning that must be
  acknowledged (docs/clinical-safety.md). Cross-reactivity between classes (penicillins and
  cephalosporins) is not modelled: a clinical judgement, not a table lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

CRITICAL_SEVERITIES = frozenset({"severe", "life_threatening"})
CRITICAL_ALERT_TYPES = frozenset({"restriction_of_care", "communicable_disease"})

BLOOD_GROUP_CODE_SYSTEM = "LOINC"
BLOOD_GROUP_CODES = frozenset({"882-1"})


def critical_alert(alert_type: str, severity: str | None) -> bool:
    """An alert the emergency department must see first: a severe or life-threatening
    hypersensitivity, a restriction of care, a communicable disease."""
    return alert_type in CRITICAL_ALERT_TYPES or (severity or "") in CRITICAL_SEVERITIES


@dataclass(frozen=True)
class DrugClass:
    """An ATC group whose drugs share a hypersensitivity."""

    atc_prefix: str
    name: str


HYPERSENSITIVITY_CLASSES: tuple[DrugClass, ...] = (
    DrugClass("J01C", "penicillins"),
    DrugClass("J01D", "cephalosporins and other beta-lactams"),
    DrugClass("J01E", "sulfonamides and trimethoprim"),
    DrugClass("M01A", "NSAIDs"),
    DrugClass("N02BA", "salicylates"),
)


def drug_class(atc_code: str | None) -> DrugClass | None:
    """The class of the table an ATC code belongs to (the longest matching prefix)."""
    if not atc_code:
        return None
    code = atc_code.upper()
    found = [c for c in HYPERSENSITIVITY_CLASSES if code.startswith(c.atc_prefix)]
    return max(found, key=lambda c: len(c.atc_prefix)) if found else None


def conflicting_class(drug_atc: str | None, agent_atcs: list[str | None]) -> DrugClass | None:
    """The class shared by the drug and one of the recorded hypersensitivity agents, if any."""
    wanted = drug_class(drug_atc)
    if wanted is None:
        return None
    for agent in agent_atcs:
        if drug_class(agent) == wanted:
            return wanted
    return None
