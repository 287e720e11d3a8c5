"""recordMunicipalDecision: a SoL or LSS decision (biståndsbeslut, LSS-beslut), DOMAIN.md §4.

Legal bases and insatser are code tables: a decision must name a legal basis that was in force
on the day it was decided, and an insats of the same law (LSS insats, LSS basis).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping

from app import models
from app.context import Context
from app.identifiers import validate_municipality_code
from resolvers.mutations.checks import Checks, max_length
from resolvers.mutations.header import RecordInput, resolve_header
from resolvers.mutations.outcome import Code, Outcome, RowRef
from resolvers.mutations.references import one
from resolvers.mutations.runner import Writer, run_mutation
from resolvers.tables import INSATS, LEGAL_BASIS, MUNICIPALITY

SWEDEN = ZoneInfo("Europe/Stockholm")
MAX_EXTENT = Decimal("999999.99")  # Numeric(8, 2)


@dataclass(frozen=True, kw_only=True)
class RecordMunicipalDecision(RecordInput):
    legal_basis_code: str
    insats_code: str
    municipality_code: str
    applied_on: date
    decided_on: date
    valid_from: date | None = None
    valid_to: date | None = None
    extent_amount: Decimal | None = None
    extent_unit: str | None = None
    outcome: str
    case_officer_name: str
    motivation: str | None = None


def decision_time(day: date) -> datetime:
    """The event time of a decision: the start of its day in Swedish time."""
    return datetime.combine(day, time(0), tzinfo=SWEDEN)


def _law_framework(basis: RowMapping) -> str:
    """'sol' or 'lss' from the law's name, e.g. 'SoL (2025:400)' or 'LSS (1993:387)'."""
    return str(basis["law"]).split()[0].lower()


async def _check_codes(
    ctx: Context, checks: Checks, cmd: RecordMunicipalDecision, municipality: str | None
) -> None:
    basis = await one(ctx, LEGAL_BASIS, code=cmd.legal_basis_code.strip())
    insats = await one(ctx, INSATS, code=cmd.insats_code.strip())
    if basis is None:
        checks.add("input.legalBasisCode", Code.INVALID_CODE, "no legal basis has this code")
    elif cmd.decided_on < basis["in_force_from"] or (
        basis["in_force_to"] is not None and cmd.decided_on > basis["in_force_to"]
    ):
        checks.add(
            "input.legalBasisCode",
            Code.INVALID_CODE,
            f"{basis['law']} {basis['paragraph']} was not in force on {cmd.decided_on}",
        )
    if insats is None:
        checks.add("input.insatsCode", Code.INVALID_CODE, "no insats has this code")
    elif basis is not None and _law_framework(basis) != insats["framework"]:
        checks.add(
            "input.insatsCode",
            Code.INVALID_CODE,
            f"{insats['name']} is an {insats['framework'].upper()} insats; "
            f"the legal basis is {basis['law']}",
        )
    if municipality is not None and await one(ctx, MUNICIPALITY, code=municipality) is None:
        checks.add("input.municipalityCode", Code.INVALID_CODE, "no municipality has this code")


async def record_municipal_decision(ctx: Context, cmd: RecordMunicipalDecision) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        municipality = checks.code(
            "input.municipalityCode", validate_municipality_code, cmd.municipality_code
        )
        applied = checks.day("input.appliedOn", cmd.applied_on)
        decided = checks.day("input.decidedOn", cmd.decided_on)
        checks.order(
            "input.decidedOn", applied, decided, "input.decidedOn is before input.appliedOn"
        )
        checks.order(
            "input.validTo", cmd.valid_from, cmd.valid_to, "input.validTo is before validFrom"
        )

        def text(field: str, value: str | None, column: str, required: bool = False) -> str | None:
            limit = max_length(models.MunicipalDecision, column)
            return checks.text(field, value, limit=limit, required=required)

        content = {
            "legal_basis_code": cmd.legal_basis_code.strip(),
            "insats_code": cmd.insats_code.strip(),
            "municipality_code": municipality,
            "applied_on": cmd.applied_on,
            "decided_on": cmd.decided_on,
            "valid_from": cmd.valid_from,
            "valid_to": cmd.valid_to,
            "extent_amount": checks.number(
                "input.extentAmount",
                cmd.extent_amount,
                minimum=0,
                maximum=MAX_EXTENT,
                required=False,
            ),
            "extent_unit": text("input.extentUnit", cmd.extent_unit, "extent_unit"),
            "outcome": cmd.outcome,
            "case_officer_name": text(
                "input.caseOfficerName", cmd.case_officer_name, "case_officer_name", True
            ),
            "motivation": text("input.motivation", cmd.motivation, "motivation"),
        }
        when = decision_time(cmd.decided_on)
        header = await resolve_header(
            ctx, checks, cmd, event_time=when, event_field="input.decidedOn"
        )
        await _check_codes(ctx, checks, cmd, municipality)
        checks.done()
        ref = await write.insert(
            models.MunicipalDecision, header.row(when, **content), payload=True
        )
        return {"municipalDecision": ref}

    return await run_mutation(
        ctx, "recordMunicipalDecision", cmd, body, idempotency_key=cmd.idempotency_key
    )
