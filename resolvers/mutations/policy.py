"""Who may write: the one function every mutation calls before it writes.

For now any verified clinician or system integration may write; patients, proxies and research
clients may not. The privacy work tightens this here (assignment at the unit, care relationship)
without touching the mutations.
"""

from __future__ import annotations

import uuid

from app.access.principal import PrincipalKind
from app.context import Context
from app.errors import Forbidden, NotAuthenticated

WRITERS = frozenset({PrincipalKind.CLINICIAN, PrincipalKind.SYSTEM})


def require_principal(ctx: Context) -> None:
    """Anonymous callers learn nothing, not even whether their input was valid."""
    if ctx.principal.is_anonymous:
        raise NotAuthenticated("writing needs a signed-in clinician or system integration")


async def ensure_may_write(
    ctx: Context,
    patient_id: uuid.UUID | None,
    care_unit_id: uuid.UUID | None,
    record: str | None = None,
) -> None:
    """Raise (and log the refusal) unless the principal may write this patient's record at
    this care unit. `patient_id` is None for a new patient; `care_unit_id` None when the row
    has no unit (a patient's registration); `record` is the table of the row written."""
    require_principal(ctx)
    if ctx.principal.kind not in WRITERS:
        ctx.audit.deny(patient_id, f"a {ctx.principal.kind.value} may not write")
        raise Forbidden(f"a {ctx.principal.kind.value} may not write to the record")
    if patient_id is not None and ctx.principal.kind is PrincipalKind.CLINICIAN:
        # A clinician's decision on the patient first: the policy reads their assignment with
        # the patient's facts in one round trip, the write rules below then ask no statement
        # of their own, and the written row's read-back needs this decision anyway. Nothing
        # is disclosed by deciding (no answer depends on it before the write is allowed). A
        # system integration's write rules read nothing: its decision waits until needed.
        await ctx.data.access([patient_id])
    # The access policy's write rules (assignment at the unit, own unit: app/access/care.py).
    reason = await ctx.data.write_denial(patient_id, care_unit_id, record)
    if reason is not None:
        ctx.audit.deny(patient_id, reason)
        raise Forbidden(reason)
