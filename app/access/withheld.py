""" "Hidden, not absent": what the policy withholds from a principal, said without saying what.

A situation that gets an empty list must be able to tell "none" from "not for you": for each
decision this names the categories the policy may be removing data from, the reason, and the
action that would open them (A7: never which provider holds it, never the content). Reasons
that do not depend on the data (no NLL consent, no SVOD consent, not approved for the patient)
are stated whether or not anything is actually hidden, so that their presence reveals nothing
about the record; BLOCKED is stated only when a block at another provider exists, which A7
allows the clinician to learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.access.grants import ClinicianAccess, PersonAccess
from app.access.policy import PatientAccess


class WithheldCategory(StrEnum):
    MEDICATION = "MEDICATION"
    ALERTS = "ALERTS"
    RECORDS = "RECORDS"


class WithheldReason(StrEnum):
    NO_CONSENT = "NO_CONSENT"
    BLOCKED = "BLOCKED"
    NO_NLL_CONSENT = "NO_NLL_CONSENT"
    NOT_APPROVED = "NOT_APPROVED"


class OpeningAction(StrEnum):
    SVOD_CONSENT = "SVOD_CONSENT"
    NLL_CONSENT = "NLL_CONSENT"
    EMERGENCY_ACCESS = "EMERGENCY_ACCESS"
    APPROVAL_BY_CARE_UNIT = "APPROVAL_BY_CARE_UNIT"


@dataclass(frozen=True)
class Withheld:
    category: WithheldCategory
    reason: WithheldReason
    action: OpeningAction

    @property
    def resource(self) -> str:
        """How the audit trail names this disclosure (it tells the caller something)."""
        return f"Withheld:{self.reason.value}:{self.category.value}"


def withheld(decision: PatientAccess) -> tuple[Withheld, ...]:
    """What this decision withholds, in a fixed order (category, then reason)."""
    found: list[Withheld] = []
    if isinstance(decision, ClinicianAccess):
        if not decision.share:
            for category in (WithheldCategory.ALERTS, WithheldCategory.RECORDS):
                found.append(
                    Withheld(category, WithheldReason.NO_CONSENT, OpeningAction.SVOD_CONSENT)
                )
        if not decision.all_medication:
            found.append(
                Withheld(
                    WithheldCategory.MEDICATION,
                    WithheldReason.NO_NLL_CONSENT,
                    OpeningAction.NLL_CONSENT,
                )
            )
        if decision.blocked_elsewhere() and not decision.emergency_open:
            found.append(
                Withheld(
                    WithheldCategory.RECORDS,
                    WithheldReason.BLOCKED,
                    OpeningAction.EMERGENCY_ACCESS,
                )
            )
    elif isinstance(decision, PersonAccess):
        for category in (WithheldCategory.ALERTS, WithheldCategory.RECORDS):
            found.append(
                Withheld(category, WithheldReason.NOT_APPROVED, OpeningAction.APPROVAL_BY_CARE_UNIT)
            )
    order = list(WithheldCategory)
    return tuple(sorted(found, key=lambda w: (order.index(w.category), w.reason.value)))
