"""Privacy reads: the log extract (A13), the emergency-access review (A6/A13), the
blocked-elsewhere hint (A7) and emergency step 1 (A6). All through DataAccess, all audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping

from app.access.grants import PersonAccess
from app.access.principal import PrincipalKind
from app.access.rules import may_review_log
from app.access_log import (
    LOG_EXTRACT_ACTION,
    access_log_statement,
    emergency_review_statement,
)
from app.audit import AuditEvent
from app.context import Context
from app.errors import BadInput, Forbidden

MAX_ENTRIES = 200


def _limit(first: int) -> int:
    if not 0 <= first <= MAX_ENTRIES:
        raise BadInput(f"first: 0 to {MAX_ENTRIES}", field="first", rule="range")
    return first


async def my_access_log(
    ctx: Context, patient_id: uuid.UUID | None, first: int, before: int | None
) -> Sequence[RowMapping] | None:
    """The log extract of the logged-in patient (or of the patient a proxy acts for, by the
    same rules as their record, A10). None when not allowed; reading it is logged."""
    principal = ctx.principal
    if principal.kind not in (PrincipalKind.PATIENT, PrincipalKind.PROXY):
        ctx.audit.deny(patient_id, "the log extract is for patients and their representatives")
        raise Forbidden("the log extract is for patients and their representatives")
    target = patient_id or await _own_patient_id(ctx)
    if target is None:
        return None
    decision = (await ctx.data.access([target]))[target]
    if not decision.may_see_identity:
        ctx.audit.deny(target, decision.denial_reason or "no access to patient")
        return None
    scope = decision.scope if isinstance(decision, PersonAccess) else None
    statement = access_log_statement(
        target,
        limit=_limit(first),
        before_id=before,
        only_units=scope.only if scope else None,
        closed_units=scope.closed if scope else (),
    )
    rows = await ctx.data.fetch(statement)
    ctx.audit.event(
        AuditEvent(
            target, LOG_EXTRACT_ACTION, "disclosed", tuple(f"AuditEntry:{r['id']}" for r in rows)
        )
    )
    return rows


async def _own_patient_id(ctx: Context) -> uuid.UUID | None:
    from sqlalchemy import select

    from app import models
    from app.access.facts import table

    p = table(models.Patient)
    identifier = ctx.principal.represented_identifier or ctx.principal.person_identifier
    found = await ctx.data.fetch(
        select(p.c.id).where(
            p.c.identifier == (identifier or ""), p.c.identifier_kind != "external"
        )
    )
    return found[0]["id"] if found else None


async def emergency_access_review(
    ctx: Context, since: datetime | None, first: int, before: int | None
) -> Sequence[RowMapping]:
    """Emergency accesses to follow up: a system integration sees all, a clinician with the
    reviewer role their own provider's. The review itself is logged per patient."""
    principal = ctx.principal
    if not may_review_log(principal):
        ctx.audit.deny(None, "not a log reviewer")
        raise Forbidden("reviewing emergency access needs the reviewer role")
    provider = principal.care_provider_hsa_id if principal.kind is PrincipalKind.CLINICIAN else None
    rows = await ctx.data.fetch(
        emergency_review_statement(
            provider_hsa_id=provider, since=since, limit=_limit(first), before_id=before
        )
    )
    for row in rows:
        if row["patient_id"] is not None:
            ctx.audit.disclose(row["patient_id"], "EmergencyAccessReview", str(row["id"]))
    return rows


async def blocked_information_elsewhere(ctx: Context, patient_id: uuid.UUID) -> bool | None:
    """A7: whether blocked information exists at another provider (never which)."""
    return await ctx.data.blocked_information_elsewhere(patient_id)


async def emergency_blocked_providers(
    ctx: Context, patient_id: uuid.UUID
) -> list[uuid.UUID] | None:
    """A6 step 1: the providers holding data blocked from the caller (emergency only)."""
    return await ctx.data.emergency_blocked_providers(patient_id)
