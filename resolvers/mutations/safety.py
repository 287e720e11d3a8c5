"""The clinical safety check on prescribing and dispensing (app/safety.py's table).

A drug of an ATC class the patient has a recorded hypersensitivity to gives a warning. The write
is kept only when the caller acknowledges the warning by its code in `acknowledgeWarnings`;
otherwise nothing is written and the payload carries the warning and a
WARNING_NOT_ACKNOWLEDGED user error. Only the alerts the caller may see are checked (the
policy's `withheld` says when alerts are hidden); reading them is audited like any read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select

from app.context import Context
from app.safety import conflicting_class
from resolvers.mutations.checks import now
from resolvers.mutations.outcome import Code, Problem, Rejected
from resolvers.tables import ALERT

FIELD = "input.acknowledgeWarnings"


@dataclass(frozen=True)
class ClinicalWarning:
    """A warning about the write; `code` is what `acknowledgeWarnings` must name."""

    code: str
    atc_prefix: str
    message: str


async def hypersensitivity_warnings(
    ctx: Context, patient_id: uuid.UUID, drug_atc: str | None
) -> list[ClinicalWarning]:
    """Warnings for prescribing or dispensing a drug of ATC `drug_atc` to the patient."""
    t = ALERT
    visible = await ctx.data.visibility(t, [patient_id])
    today = now().date()
    statement = select(t.c.id, t.c.patient_id, t.c.agent_atc_code).where(
        t.c.patient_id == patient_id,
        visible,
        t.c.alert_type == "hypersensitivity",
        t.c.nullified.is_(False),
        or_(t.c.valid_to.is_(None), t.c.valid_to >= today),
        t.c.agent_atc_code.is_not(None),
    )
    rows = await ctx.data.fetch(statement, disclose="Alert")
    found = conflicting_class(drug_atc, [r["agent_atc_code"] for r in rows])
    if found is None:
        return []
    return [
        ClinicalWarning(
            f"HYPERSENSITIVITY_{found.atc_prefix}",
            found.atc_prefix,
            f"the patient has a recorded hypersensitivity to {found.name} (ATC "
            f"{found.atc_prefix}), the class of this drug",
        )
    ]


def require_acknowledged(warnings: Sequence[ClinicalWarning], acknowledged: Sequence[str]) -> None:
    """Stop the write (nothing is kept) unless every warning's code is acknowledged."""
    named = {a.strip().upper() for a in acknowledged}
    missing = [w for w in warnings if w.code not in named]
    if missing:
        raise Rejected(
            [
                Problem(
                    FIELD,
                    Code.WARNING_NOT_ACKNOWLEDGED,
                    f"{w.message}: acknowledge {w.code} in {FIELD} to write it anyway",
                )
                for w in missing
            ]
        )
