"""Reading the audit trail back (A13): the patient's log extract (loggutdrag) and the
reviewers' list of emergency accesses to follow up.

Statements only; resolvers run them through DataAccess so that reading a log is itself
logged (A12).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select

from app import models
from app.access.facts import table
from app.access.principal import PrincipalKind

# What counts as an access the patient should see: something was shown or written.
ACCESS_OUTCOMES = ("disclosed", "written")
LOG_EXTRACT_ACTION = "log_extract"


def access_log_statement(
    patient_id: uuid.UUID,
    *,
    limit: int,
    before_id: int | None = None,
    only_units: Collection[uuid.UUID] | None = None,
    closed_units: Collection[uuid.UUID] = (),
) -> Select[Any]:
    """The patient's log extract, newest first: when, which unit and provider, who, why.

    A reader whose A10 access an exception narrowed sees the accesses of the same units: only
    those of `only_units`, none of `closed_units` (which would tell that the patient is in
    care there)."""
    ae, cu, cp = table(models.AuditEntry), table(models.CareUnit), table(models.CareProvider)
    stmt = (
        select(
            ae.c.id,
            ae.c.occurred_at,
            ae.c.principal_kind,
            ae.c.principal_name,
            ae.c.care_unit_hsa_id,
            cu.c.name.label("care_unit_name"),
            ae.c.care_provider_hsa_id,
            cp.c.name.label("care_provider_name"),
            cp.c.public.label("provider_public"),
            ae.c.purpose,
            ae.c.action,
            ae.c.outcome,
        )
        .select_from(
            ae.outerjoin(cu, cu.c.hsa_id == ae.c.care_unit_hsa_id).outerjoin(
                cp, cp.c.hsa_id == ae.c.care_provider_hsa_id
            )
        )
        .where(ae.c.patient_id == patient_id, ae.c.outcome.in_(ACCESS_OUTCOMES))
        .order_by(ae.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(ae.c.id < before_id)
    if only_units is not None:
        stmt = stmt.where(cu.c.id.in_(sorted(only_units, key=str)))
    if closed_units:
        stmt = stmt.where(or_(cu.c.id.is_(None), cu.c.id.not_in(sorted(closed_units, key=str))))
    return stmt


def person_shown(kind: str, provider_public: bool | None, name: str | None) -> str | None:
    """A13: the person is named when they work for a public provider (and when it is the
    patient or their representative); staff of private providers appear by unit only."""
    if kind in (PrincipalKind.PATIENT.value, PrincipalKind.PROXY.value):
        return name
    if kind == PrincipalKind.CLINICIAN.value and provider_public:
        return name
    return None


def emergency_review_statement(
    *, provider_hsa_id: str | None, since: datetime | None, limit: int, before_id: int | None
) -> Select[Any]:
    """Entries flagged for review (emergency access, A6), newest first; a clinician reviewer
    sees their own provider's only (`provider_hsa_id`), a system integration all."""
    ae, p = table(models.AuditEntry), table(models.Patient)
    stmt = (
        select(
            ae.c.id,
            ae.c.occurred_at,
            ae.c.principal_id,
            ae.c.principal_name,
            ae.c.care_unit_hsa_id,
            ae.c.care_provider_hsa_id,
            ae.c.patient_id,
            p.c.identifier.label("patient_identifier"),
            ae.c.purpose,
            ae.c.action,
            ae.c.outcome,
            ae.c.reason,
            ae.c.resources,
        )
        .select_from(ae.outerjoin(p, p.c.id == ae.c.patient_id))
        .where(ae.c.review_required.is_(True))
        .order_by(ae.c.id.desc())
        .limit(limit)
    )
    if provider_hsa_id is not None:
        stmt = stmt.where(ae.c.care_provider_hsa_id == provider_hsa_id)
    if since is not None:
        stmt = stmt.where(ae.c.occurred_at >= since)
    if before_id is not None:
        stmt = stmt.where(ae.c.id < before_id)
    return stmt
