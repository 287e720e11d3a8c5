"""recordCareContact, addDiagnosis, writeCareDocument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app import models
from app.access.principal import PrincipalKind
from app.context import Context
from app.identifiers import normalize_icd10_se
from resolvers.mutations.checks import Checks, max_length, now
from resolvers.mutations.header import RecordInput, resolve_header
from resolvers.mutations.outcome import Code, Outcome, RowRef
from resolvers.mutations.records import insert_record
from resolvers.mutations.relationships import current_relationship, imply_care_relationship
from resolvers.mutations.runner import Writer, run_mutation

# A contact that has not happened (planned or cancelled) may lie in the future.
NOT_YET = frozenset({"ej_paborjad", "installd"})


@dataclass(frozen=True, kw_only=True)
class RecordCareContact(RecordInput):
    contact_type: str
    status: str
    reason: str | None = None
    period_start: datetime
    period_end: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class AddDiagnosis(RecordInput):
    code: str
    display: str
    diagnosis_type: str
    diagnosed_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class WriteCareDocument(RecordInput):
    document_type: str
    title: str
    text: str
    written_at: datetime | None = None
    sign: bool = False


async def record_care_contact(ctx: Context, cmd: RecordCareContact) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        start = checks.moment("input.periodStart", cmd.period_start, past=cmd.status not in NOT_YET)
        end = checks.moment("input.periodEnd", cmd.period_end, required=False, past=False)
        checks.order("input.periodEnd", start, end, "input.periodEnd is before input.periodStart")
        if end is not None and cmd.status in ("ej_paborjad", "pagaende"):
            checks.add(
                "input.periodEnd",
                Code.INVALID_VALUE,
                f"a contact with status {cmd.status} has no end yet",
            )
        reason = checks.text(
            "input.reason",
            cmd.reason,
            limit=max_length(models.CareContact, "reason"),
            required=False,
        )
        header = await resolve_header(
            ctx, checks, cmd, event_time=start, event_field="input.periodStart"
        )
        checks.done()
        assert start is not None
        implies = cmd.status not in NOT_YET
        moment = now()
        # Whether the unit's care relationship is current: asked by the contact's INSERT.
        current = current_relationship(header.patient_id, header.unit, moment)
        ref = await write.insert(
            models.CareContact,
            header.row(
                start,
                contact_type=cmd.contact_type,
                status=cmd.status,
                reason=reason,
                period_end=end,
            ),
            payload=True,
            also={"current": current} if implies else None,
        )
        if implies:
            await imply_care_relationship(
                ctx,
                write,
                header.patient_id,
                header.unit,
                header.values["accountable_practitioner_id"],
                start,
                end,
                current=bool(write.also[ref]["current"]),
                moment=moment,
            )
        return {"careContact": ref}

    return await run_mutation(
        ctx, "recordCareContact", cmd, body, idempotency_key=cmd.idempotency_key, writes_last=True
    )


async def add_diagnosis(ctx: Context, cmd: AddDiagnosis) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        code = checks.code("input.code", normalize_icd10_se, cmd.code)
        display = checks.text(
            "input.display", cmd.display, limit=max_length(models.Diagnosis, "display")
        )
        ref = await insert_record(
            ctx,
            write,
            checks,
            cmd,
            models.Diagnosis,
            event_field="input.diagnosedAt",
            event_time=cmd.diagnosed_at,
            content={"code": code, "display": display, "diagnosis_type": cmd.diagnosis_type},
        )
        return {"diagnosis": ref}

    return await run_mutation(
        ctx, "addDiagnosis", cmd, body, idempotency_key=cmd.idempotency_key, writes_last=True
    )


async def write_care_document(ctx: Context, cmd: WriteCareDocument) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        kind = checks.text(
            "input.documentType",
            cmd.document_type,
            limit=max_length(models.CareDocument, "document_type"),
        )
        title = checks.text(
            "input.title", cmd.title, limit=max_length(models.CareDocument, "title")
        )
        text = checks.text("input.text", cmd.text, limit=max_length(models.CareDocument, "text"))
        when = checks.moment("input.writtenAt", cmd.written_at or now())
        if cmd.sign and ctx.principal.kind is not PrincipalKind.CLINICIAN:
            checks.add("input.sign", Code.INVALID_VALUE, "only a signed-in clinician can sign")
        header = await resolve_header(
            ctx, checks, cmd, event_time=when, event_field="input.writtenAt"
        )
        checks.done()
        assert when is not None
        signature = {}
        if cmd.sign:
            signature = {
                "legal_authenticator_time": now(),
                "legal_authenticator_hsa_id": header.values["accountable_hsa_id"],
                "legal_authenticator_name": header.values["accountable_name"],
            }
        ref = await write.insert(
            models.CareDocument,
            header.row(when, document_type=kind, title=title, text=text, **signature),
            payload=True,
        )
        return {"careDocument": ref}

    return await run_mutation(
        ctx, "writeCareDocument", cmd, body, idempotency_key=cmd.idempotency_key, writes_last=True
    )
