"""prescribe, dispense, discontinuePrescription (Nationella läkemedelslistan, DOMAIN.md §3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping, func, select

from app import models
from app.access.principal import PrincipalKind
from app.context import Context
from app.identifiers import validate_atc, validate_npl_id, validate_npl_pack_id
from resolvers.mutations.checks import Checks, max_length, now
from resolvers.mutations.header import RecordInput, resolve_header
from resolvers.mutations.outcome import Code, Outcome, RowRef, reject
from resolvers.mutations.policy import ensure_may_write
from resolvers.mutations.references import global_id
from resolvers.mutations.runner import Writer, run_mutation, stale
from resolvers.mutations.safety import (
    ClinicalWarning,
    hypersensitivity_warnings,
    require_acknowledged,
)
from resolvers.tables import DISPENSATION, PRESCRIPTION

# Sista giltighetsdag when none is given: issue date + 366 days.
DEFAULT_VALIDITY = timedelta(days=366)
MAX_AMOUNT = Decimal("999999999")  # Numeric(12, 3)
MAX_DOSE = Decimal("99999999")  # Numeric(12, 4)
MAX_DOSES_PER_DAY = Decimal("99999")  # Numeric(8, 3)
MAX_DISPENSATIONS = 99


@dataclass(frozen=True, kw_only=True)
class Prescribe(RecordInput):
    acknowledge_warnings: list[str] | None = None
    kind: str = "recept"
    drug_npl_id: str
    npl_pack_id: str | None = None
    atc_code: str
    drug_name: str
    strength: str | None = None
    form: str | None = None
    dosage_text: str
    dose_quantity: Decimal | None = None
    dose_unit: str | None = None
    doses_per_day: Decimal | None = None
    amount: Decimal
    dispensations_allowed: int = 1
    dispensation_interval_days: int | None = None
    non_replaceable: bool = False
    issued_at: datetime | None = None
    valid_until: date | None = None
    reason: str | None = None
    replaces_id: str | None = None
    replaces_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class Dispense(RecordInput):
    acknowledge_warnings: list[str] | None = None
    prescription_id: str
    amount: Decimal
    article_npl_pack_id: str | None = None
    article_name: str
    dispensed_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class DiscontinuePrescription:
    id: str
    version: int
    reason: str
    idempotency_key: str | None = None


def _text(checks: Checks, field: str, value: str | None, column: str, required: bool) -> Any:
    limit = max_length(models.Prescription, column)
    return checks.text(field, value, limit=limit, required=required)


def _prescription_content(checks: Checks, cmd: Prescribe) -> dict[str, Any]:
    return {
        "kind": cmd.kind,
        "drug_npl_id": checks.identifier("input.drugNplId", validate_npl_id, cmd.drug_npl_id),
        "npl_pack_id": checks.identifier(
            "input.nplPackId", validate_npl_pack_id, cmd.npl_pack_id, required=False
        ),
        "atc_code": checks.code("input.atcCode", validate_atc, cmd.atc_code),
        "drug_name": _text(checks, "input.drugName", cmd.drug_name, "drug_name", True),
        "strength": _text(checks, "input.strength", cmd.strength, "strength", False),
        "form": _text(checks, "input.form", cmd.form, "form", False),
        "dosage_text": _text(checks, "input.dosageText", cmd.dosage_text, "dosage_text", True),
        "dose_quantity": checks.number(
            "input.doseQuantity",
            cmd.dose_quantity,
            minimum=0,
            maximum=MAX_DOSE,
            above=True,
            required=False,
        ),
        "dose_unit": _text(checks, "input.doseUnit", cmd.dose_unit, "dose_unit", False),
        "doses_per_day": checks.number(
            "input.dosesPerDay",
            cmd.doses_per_day,
            minimum=0,
            maximum=MAX_DOSES_PER_DAY,
            above=True,
            required=False,
        ),
        "amount": checks.number(
            "input.amount", cmd.amount, minimum=0, maximum=MAX_AMOUNT, above=True
        ),
        "dispensations_allowed": checks.number(
            "input.dispensationsAllowed",
            cmd.dispensations_allowed,
            minimum=1,
            maximum=MAX_DISPENSATIONS,
        ),
        "dispensation_interval_days": checks.number(
            "input.dispensationIntervalDays",
            cmd.dispensation_interval_days,
            minimum=1,
            maximum=366,
            required=False,
        ),
        "non_replaceable": cmd.non_replaceable,
        "reason": _text(checks, "input.reason", cmd.reason, "reason", False),
    }


async def locked_prescription(
    ctx: Context, checks: Checks, field: str, raw: str | None, patient_id: uuid.UUID | None
) -> RowMapping | None:
    """The visible prescription, locked for this transaction (dispensations and updates of
    one prescription are serialised, so it cannot be over-dispensed)."""
    gid = global_id(checks, field, raw, "Prescription")
    if gid is None:
        return None
    if patient_id is not None and gid.patient_id != patient_id:
        checks.add(field, Code.INVALID_REFERENCE, f"{field} belongs to another patient")
        return None
    if gid.patient_id is None:
        checks.add(field, Code.INVALID_IDENTIFIER, f"{field}: not a valid global id (global_id)")
        return None
    visible = await ctx.data.visible_keys(PRESCRIPTION, [(gid.patient_id, gid.id)])
    statement = select(PRESCRIPTION).where(visible).with_for_update(of=PRESCRIPTION)
    rows = await ctx.data.fetch(statement)
    if not rows:
        checks.add(field, Code.NOT_FOUND, f"{field}: no such prescription")
        return None
    return rows[0]


async def prescribe(ctx: Context, cmd: Prescribe) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        content = _prescription_content(checks, cmd)
        issued = checks.moment("input.issuedAt", cmd.issued_at or now())
        issue_day = issued.date() if issued else None
        valid_until = cmd.valid_until or (issue_day + DEFAULT_VALIDITY if issue_day else None)
        checks.order(
            "input.validUntil",
            issue_day,
            valid_until,
            "input.validUntil must be after the issue date",
            strict=True,
        )
        if (cmd.replaces_id is None) != (cmd.replaces_version is None):
            checks.add(
                "input.replacesVersion",
                Code.INVALID_VALUE,
                "give replacesId and replacesVersion together",
            )
        if ctx.principal.kind is not PrincipalKind.CLINICIAN and not cmd.accountable_hsa_id:
            checks.add(
                "input.accountableHsaId",
                Code.INVALID_VALUE,
                "a prescription needs a prescriber: sign in as one or give accountableHsaId",
            )
        header = await resolve_header(
            ctx, checks, cmd, event_time=issued, event_field="input.issuedAt"
        )
        replaced = None
        if cmd.replaces_id is not None:
            replaced = await locked_prescription(
                ctx, checks, "input.replacesId", cmd.replaces_id, header.patient_id
            )
            if replaced is not None and replaced["status"] != "aktiv":
                checks.add(
                    "input.replacesId",
                    Code.INVALID_STATE,
                    f"only an active prescription can be replaced; it is {replaced['status']}",
                )
        checks.done()
        assert issued is not None
        warnings[:] = await hypersensitivity_warnings(ctx, header.patient_id, content["atc_code"])
        require_acknowledged(warnings, cmd.acknowledge_warnings or [])
        chain = replaced["chain_id"] if replaced is not None else uuid.uuid4()
        ref = await write.insert(
            models.Prescription,
            header.row(
                issued,
                **content,
                chain_id=chain,
                replaces_id=replaced["id"] if replaced is not None else None,
                valid_until=valid_until,
                status="aktiv",
            ),
            payload=True,
        )
        refs = {"prescription": ref}
        if replaced is not None:
            assert cmd.replaces_version is not None
            old = RowRef("Prescription", replaced["patient_id"], replaced["id"])
            await write.update(
                old, cmd.replaces_version, {"status": "ersatt"}, field="input.replacesId"
            )
            refs["replaced"] = old
        return refs

    warnings: list[ClinicalWarning] = []
    outcome = await run_mutation(ctx, "prescribe", cmd, body, idempotency_key=cmd.idempotency_key)
    outcome.warnings = tuple(warnings)
    return outcome


async def _dispensed_so_far(ctx: Context, prescription: RowMapping) -> tuple[int, datetime | None]:
    """How many dispensations count (reversals cancel one each), and the latest time."""
    t = DISPENSATION
    statement = select(
        func.count().filter(t.c.reverses_id.is_(None)).label("done"),
        func.count().filter(t.c.reverses_id.is_not(None)).label("reversed"),
        func.max(t.c.event_time).filter(t.c.reverses_id.is_(None)).label("latest"),
    ).where(
        t.c.patient_id == prescription["patient_id"],
        t.c.prescription_id == prescription["id"],
        t.c.nullified.is_(False),
    )
    row = (await ctx.data.fetch(statement))[0]
    done, reversed_, latest = row["done"], row["reversed"], row["latest"]
    return int(done) - int(reversed_), latest


async def dispense(ctx: Context, cmd: Dispense) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        amount = checks.number(
            "input.amount", cmd.amount, minimum=0, maximum=MAX_AMOUNT, above=True
        )
        article = checks.text(
            "input.articleName",
            cmd.article_name,
            limit=max_length(models.Dispensation, "article_name"),
        )
        pack = checks.identifier(
            "input.articleNplPackId", validate_npl_pack_id, cmd.article_npl_pack_id, required=False
        )
        when = checks.moment("input.dispensedAt", cmd.dispensed_at or now())
        global_id(checks, "input.prescriptionId", cmd.prescription_id, "Prescription")
        header = await resolve_header(
            ctx, checks, cmd, event_time=when, event_field="input.dispensedAt", table="dispensation"
        )
        if header.unit.kind != "pharmacy":
            checks.add(
                "input.careUnitHsaId",
                Code.INVALID_REFERENCE,
                f"dispensations are made at a pharmacy, and {header.unit.hsa_id} is not one",
            )
        prescription = await locked_prescription(
            ctx, checks, "input.prescriptionId", cmd.prescription_id, header.patient_id
        )
        if prescription is not None and when is not None:
            await _check_dispensable(ctx, checks, prescription, amount, when)
        checks.done()
        assert when is not None and prescription is not None
        warnings[:] = await hypersensitivity_warnings(
            ctx, header.patient_id, prescription["atc_code"]
        )
        require_acknowledged(warnings, cmd.acknowledge_warnings or [])
        ref = await write.insert(
            models.Dispensation,
            header.row(
                when,
                prescription_id=prescription["id"],
                amount=amount,
                article_npl_pack_id=pack,
                article_name=article,
            ),
            payload=True,
        )
        return {"dispensation": ref}

    warnings: list[ClinicalWarning] = []
    outcome = await run_mutation(ctx, "dispense", cmd, body, idempotency_key=cmd.idempotency_key)
    outcome.warnings = tuple(warnings)
    return outcome


async def _check_dispensable(
    ctx: Context, checks: Checks, prescription: RowMapping, amount: Decimal | None, when: datetime
) -> None:
    field = "input.prescriptionId"
    if prescription["nullified"] or prescription["status"] != "aktiv":
        checks.add(field, Code.INVALID_STATE, f"the prescription is {prescription['status']}")
        return
    if when.date() > prescription["valid_until"]:
        checks.add(field, Code.INVALID_STATE, "the prescription expired on its last valid day")
        return
    if amount is not None and amount > prescription["amount"]:
        checks.add(
            "input.amount",
            Code.INVALID_VALUE,
            f"at most {prescription['amount']} per dispensation",
        )
    done, latest = await _dispensed_so_far(ctx, prescription)
    if done >= prescription["dispensations_allowed"]:
        checks.add(field, Code.INVALID_STATE, "every dispensation of the prescription is used")
        return
    interval = prescription["dispensation_interval_days"]
    if interval and latest is not None and when < latest + timedelta(days=interval):
        earliest = (latest + timedelta(days=interval)).date().isoformat()
        checks.add(field, Code.INVALID_STATE, f"the next dispensation is allowed from {earliest}")


async def discontinue_prescription(ctx: Context, cmd: DiscontinuePrescription) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        reason = checks.text(
            "input.reason",
            cmd.reason,
            limit=max_length(models.Prescription, "discontinued_reason"),
        )
        prescription = await locked_prescription(ctx, checks, "input.id", cmd.id, None)
        checks.done()
        assert prescription is not None
        ref = RowRef("Prescription", prescription["patient_id"], prescription["id"])
        await ensure_may_write(ctx, ref.patient_id, prescription["care_unit_id"], "prescription")
        stale(prescription, cmd.version)
        if prescription["nullified"] or prescription["status"] != "aktiv":
            raise reject(
                "input.id",
                Code.INVALID_STATE,
                f"only an active prescription can be discontinued; it is {prescription['status']}",
            )
        await write.update(
            ref,
            cmd.version,
            {"status": "utsatt", "discontinued_reason": reason},
            field="input.id",
        )
        return {"prescription": ref}

    return await run_mutation(
        ctx, "discontinuePrescription", cmd, body, idempotency_key=cmd.idempotency_key
    )
