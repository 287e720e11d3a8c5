"""Legal bases as data: why the law lets a principal read a patient's record.

Every decision of the policy names the basis it used (`PatientAccess.basis`) and the audit
entry of each read or write records it (in `reason`). The table `BASES` says, per basis, the
law it rests on and what it opens; the predicates that use it are in app/access/care.py (which
basis applies) and app/access/grants.py / app/access/expedition.py (what it lets be seen).
docs/legal-bases.md explains each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.access.categories import MUNICIPAL_CARE_UNIT_KINDS


class LegalBasis(StrEnum):
    """The basis a disclosure rests on (recorded in the audit trail)."""

    CARE_RELATIONSHIP = "care_relationship"
    MUNICIPAL_DECISION = "municipal_decision"
    NLL_EXPEDITION = "nll_expedition"
    EMERGENCY = "emergency"
    OWN_RECORD = "own_record"
    GUARDIAN = "guardian"
    POWER_OF_ATTORNEY = "power_of_attorney"
    RESEARCH_CONSENT = "research_consent"
    SYSTEM_INTEGRATION = "system_integration"
    ADMINISTRATION = "administration"


@dataclass(frozen=True)
class BasisRule:
    """One row of the table of legal bases."""

    basis: LegalBasis
    law: str
    who: str
    opens: str


BASES: tuple[BasisRule, ...] = (
    BasisRule(
        LegalBasis.CARE_RELATIONSHIP,
        "PDL (2008:355) 4 kap. 1 §; SVOD (2022:913) for other providers",
        "a clinician with an active assignment at a unit that has a current care relationship "
        "with the patient (A1)",
        "the own provider's records; other providers' with consent (A4), medication per NLL (A11)",
    ),
    BasisRule(
        LegalBasis.MUNICIPAL_DECISION,
        "SoL (2025:400) / LSS (1993:387) decision; SVOD (2022:913) for other providers",
        "staff at a municipal care unit that carries out a current granted SoL/LSS decision "
        "for the patient (the unit is its utförare, A14)",
        "as a care relationship: the municipality's own records; other providers' with consent",
    ),
    BasisRule(
        LegalBasis.NLL_EXPEDITION,
        "Lag (2018:1212) om nationell läkemedelslista, expediering",
        "a pharmacist (apotekare, receptarie) with an active assignment at a pharmacy",
        "the patient's identity, prescriptions and dispensations, drug hypersensitivities; "
        "writes dispensations; no care relationship needed",
    ),
    BasisRule(
        LegalBasis.EMERGENCY,
        "PDL 6 kap. 4 § / SVOD nödsituation (A6)",
        "a clinician with purpose ETREAT and a stated reason, always reviewed",
        "other providers' records without consent; blocked content after step 1",
    ),
    BasisRule(
        LegalBasis.OWN_RECORD,
        "PDL 8 kap. 2 § (direktåtkomst)",
        "the patient, from 16 (A10)",
        "own records approved for the patient",
    ),
    BasisRule(
        LegalBasis.GUARDIAN,
        "Föräldrabalken 6 kap.; PDL 8 kap.",
        "a guardian of a child of 0-12 (A10)",
        "the child's records approved for the patient",
    ),
    BasisRule(
        LegalBasis.POWER_OF_ATTORNEY,
        "Fullmakt (avtalslagen 1915:218)",
        "a holder of the patient's power of attorney (A10)",
        "as the patient's own access",
    ),
    BasisRule(
        LegalBasis.RESEARCH_CONSENT,
        "Etikprövningslagen (2003:460) and the patient's consent (A15)",
        "a research client with an ethics-approved study",
        "opted-in records, pseudonymised",
    ),
    BasisRule(
        LegalBasis.SYSTEM_INTEGRATION,
        "the operator's agreement with the integrating system",
        "a trusted system integration",
        "everything, audited; never a protected address (A16)",
    ),
    BasisRule(
        LegalBasis.ADMINISTRATION,
        "PDL 2 kap. 4 § (administration, uppföljning, systematiskt kvalitetsarbete)",
        "a head of unit or quality reviewer with purpose ADMIN",
        "the own unit's records of patients it has or had in care; no writes, no blocks opened",
    ),
)
RULES = {rule.basis: rule for rule in BASES}

# NLL expedition: which units are pharmacies, and which roles dispense there.
PHARMACY_UNIT_KINDS = frozenset({"pharmacy"})
PHARMACIST_ROLES = frozenset({"apotekare", "receptarie", "farmaceut"})
# A SoL/LSS decision is a basis while in force with one of these outcomes.
GRANTED_OUTCOMES = ("beviljad", "delvis_beviljad")


def nll_expedition(role: str | None, unit_kind: str | None) -> bool:
    """A pharmacist at a pharmacy reads the NLL to dispense, without a care relationship."""
    return unit_kind in PHARMACY_UNIT_KINDS and (role or "").lower() in PHARMACIST_ROLES


def municipal_unit(unit_kind: str | None) -> bool:
    """Units of municipal elderly/disability care and LSS (where decisions are carried out)."""
    return unit_kind in MUNICIPAL_CARE_UNIT_KINDS


def audit_reason(basis: LegalBasis | None) -> str | None:
    """What a read or write entry's `reason` says about its basis."""
    return f"basis: {basis.value}" if basis is not None else None
