"""recordMedicationAdministration: one signature on a signing list (signeringslista) in
municipal home care: a dose of a prescription given, not given (and why), or self-administered.

The nurse signs against the patient's medication list, so the prescription must be one she may
see (NLL consent for her unit, A11) and still active; the prescriber then reads what was given
as part of their own prescription (app/access/grants.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app import models
from app.access.bases import municipal_unit
from app.context import Context
from app.models.prescriptions import AdministrationOutcome
from resolvers.mutations.checks import Checks, max_length, now
from resolvers.mutations.header import RecordInput, resolve_header
from resolvers.mutations.medication import locked_prescription
from resolvers.mutations.outcome import Code, Outcome, RowRef
from resolvers.mutations.references import global_id
from resolvers.mutations.runner import Writer, run_mutation

OPERATION = "recordMedicationAdministration"


@dataclass(frozen=True, kw_only=True)
class RecordMedicationAdministration(RecordInput):
    prescription_id: str
    outcome: str
    administered_at: datetime | None = None
    planned_at: datetime | None = None
    dose_text: str | None = None
    not_given_reason: str | None = None


def planned_at(checks: Checks, cmd: RecordMedicationAdministration) -> datetime | None:
    return checks.moment("input.plannedAt", cmd.planned_at, required=False, past=False)


def _content(checks: Checks, cmd: RecordMedicationAdministration) -> dict[str, object]:
    def text(field: str, value: str | None, column: str) -> str | None:
        limit = max_length(models.MedicationAdministration, column)
        return checks.text(field, value, limit=limit, required=False)

    reason = text("input.notGivenReason", cmd.not_given_reason, "not_given_reason")
    if cmd.outcome == AdministrationOutcome.NOT_GIVEN and reason is None:
        checks.add("input.notGivenReason", Code.INVALID_VALUE, "a dose not given needs the reason")
    if cmd.outcome != AdministrationOutcome.NOT_GIVEN and cmd.not_given_reason is not None:
        checks.add(
            "input.notGivenReason", Code.INVALID_VALUE, "a reason is given only for NOT_GIVEN"
        )
    return {
        "outcome": cmd.outcome,
        "planned_at": planned_at(checks, cmd),
        "dose_text": text("input.doseText", cmd.dose_text, "dose_text"),
        "not_given_reason": reason,
    }


async def record_medication_administration(
    ctx: Context, cmd: RecordMedicationAdministration
) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        content = _content(checks, cmd)
        # A dose not given has no time of giving: it is recorded at the time it was due.
        planned = cmd.planned_at if cmd.planned_at and cmd.planned_at.tzinfo else None
        default = planned if cmd.outcome == AdministrationOutcome.NOT_GIVEN else None
        when = checks.moment("input.administeredAt", cmd.administered_at or default or now())
        global_id(checks, "input.prescriptionId", cmd.prescription_id, "Prescription")
        header = await resolve_header(
            ctx,
            checks,
            cmd,
            event_time=when,
            event_field="input.administeredAt",
            table="medication_administration",
        )
        if not municipal_unit(header.unit.kind):
            checks.add(
                "input.careUnitHsaId",
                Code.INVALID_REFERENCE,
                f"signing lists are kept in municipal care, and {header.unit.hsa_id} is not "
                "a municipal care unit",
            )
        prescription = await locked_prescription(
            ctx, checks, "input.prescriptionId", cmd.prescription_id, header.patient_id
        )
        if prescription is not None and (
            prescription["nullified"] or prescription["status"] != "aktiv"
        ):
            checks.add(
                "input.prescriptionId",
                Code.INVALID_STATE,
                "the prescription is "
                f"{'nullified' if prescription['nullified'] else prescription['status']}: "
                "nothing to give",
            )
        checks.done()
        assert when is not None and prescription is not None
        row = header.row(when, prescription_id=prescription["id"], **content)
        ref = await write.insert(models.MedicationAdministration, row, payload=True)
        return {"medicationAdministration": ref}

    return await run_mutation(ctx, OPERATION, cmd, body, idempotency_key=cmd.idempotency_key)
