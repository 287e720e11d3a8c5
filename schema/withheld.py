""" "Hidden, not absent": `Patient.withheld` says what the policy keeps from the caller, why,
and what would open it; never which provider holds it, never the content (A7)."""

from __future__ import annotations

from enum import Enum

import strawberry

from app.access import withheld as w

V = strawberry.enum_value


@strawberry.enum(description="What kind of information is withheld.")
class WithheldCategory(Enum):
    MEDICATION = V("MEDICATION", description="Prescriptions and dispensations (NLL).")
    ALERTS = V("ALERTS", description="Alert information (uppmärksamhetsinformation).")
    RECORDS = V(
        "RECORDS",
        description="Records: care contacts, notes, diagnoses, results, municipal records.",
    )


@strawberry.enum(description="Why it is withheld.")
class WithheldReason(Enum):
    NO_CONSENT = V(
        "NO_CONSENT",
        description="Other care providers' records need the patient's SVOD consent for your "
        "unit or you (A4).",
    )
    BLOCKED = V(
        "BLOCKED",
        description="The patient blocked information at another care provider (A7: not which).",
    )
    NO_NLL_CONSENT = V(
        "NO_NLL_CONSENT",
        description="Without the patient's NLL consent you see only your own prescriptions (A11).",
    )
    NOT_APPROVED = V(
        "NOT_APPROVED",
        description="Items the care unit has not approved for the patient app are not shown (A10).",
    )


@strawberry.enum(description="What would open the withheld information.")
class OpeningAction(Enum):
    SVOD_CONSENT = V(
        "SVOD_CONSENT",
        description="The patient's consent for your unit (giveConsent with SVOD_ACCESS; a "
        "clinician may record one given in person).",
    )
    NLL_CONSENT = V(
        "NLL_CONSENT",
        description="The patient's NLL consent (grantNllConsent; a clinician may record one "
        "given in person).",
    )
    EMERGENCY_ACCESS = V(
        "EMERGENCY_ACCESS",
        description="Emergency access (purpose ETREAT with a reason, A6), or the patient "
        "lifting the block for your unit (temporarilyLiftBlock).",
    )
    APPROVAL_BY_CARE_UNIT = V(
        "APPROVAL_BY_CARE_UNIT",
        description="Ask the care unit: it decides what is approved for the patient app.",
    )


@strawberry.type(
    description="Information the access policy withholds from the caller: its category, why, "
    "and what would open it. Says neither which provider holds it nor what it is (A7)."
)
class WithheldInfo:
    category: WithheldCategory = strawberry.field(description="What kind of information.")
    reason: WithheldReason = strawberry.field(description="Why it is withheld.")
    action: OpeningAction = strawberry.field(description="What would open it.")

    @classmethod
    def of(cls, item: w.Withheld) -> WithheldInfo:
        return cls(
            category=WithheldCategory(item.category.value),
            reason=WithheldReason(item.reason.value),
            action=OpeningAction(item.action.value),
        )
