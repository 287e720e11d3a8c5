"""Which legal basis (app/access/bases.py) lets a clinician read a patient's record, if any.

Tried in order: NLL expedition (a pharmacist at a pharmacy reads the medication list whatever
the care relationships), emergency (A6, on top of a care relationship), the care relationship
of the unit (A1), a SoL/LSS decision the unit carries out (A14).
"""

from __future__ import annotations

from app.access import rules
from app.access.bases import LegalBasis, nll_expedition
from app.access.facts import ClinicianFacts, PatientFacts
from app.access.principal import Principal


def reading_basis(
    principal: Principal, clinician: ClinicianFacts, patient: PatientFacts
) -> LegalBasis | None:
    """The basis of this clinician's reading of this patient's record; None: denied (A1)."""
    if not clinician.assignment_active:
        return None
    if nll_expedition(principal.role, clinician.unit_kind):
        return LegalBasis.NLL_EXPEDITION
    if rules.a1_inner_secrecy(clinician, patient):
        return (
            LegalBasis.EMERGENCY
            if rules.a6_emergency(principal)
            else (LegalBasis.CARE_RELATIONSHIP)
        )
    if patient.municipal_decision:
        return LegalBasis.MUNICIPAL_DECISION
    return None
