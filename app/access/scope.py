"""Search scope: which patients a principal may find when listing or searching patients.

A coarse pre-filter in SQL so that pages and counts of a patient search are computed over
patients the principal could possibly see; each page still passes the policy's decisions.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Uuid,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)

from app import models
from app.access.facts import table
from app.access.principal import Principal, PrincipalKind
from app.access.rules import a1_purpose_allows_care
from app.sqlplan import personal


def _person(identifier: str | None) -> Any:
    p = table(models.Patient)
    # A logged-in person is named by a Swedish identifier, never by another system's.
    return (
        select(p.c.id)
        .where(p.c.identifier == personal(identifier or ""), p.c.identifier_kind != "external")
        .scalar_subquery()
    )


def _utc_date(now: datetime) -> ColumnElement[Any]:
    """The (UTC) date of `now`, computed in SQL: `now` may be a plan's placeholder for the time
    of each run (app/sqlplan.py), whose date in Python would be the placeholder's."""
    return cast(func.timezone("UTC", literal(now, DateTime(timezone=True))), Date)


def search_scope(
    principal: Principal,
    patient_id: ColumnElement[Any],
    now: datetime,
    unit_id: uuid.UUID | None = None,
) -> ColumnElement[bool]:
    """`unit_id`: the clinician's unit, when the caller has resolved it (the unit of their
    HSA-id, as `load_clinician` finds it); it is written into the SQL as a literal, so that
    PostgreSQL plans a prepared search for this unit's number of patients, not the average's."""
    kind = principal.kind
    if kind is PrincipalKind.SYSTEM:
        return true()
    if kind is PrincipalKind.CLINICIAN:
        if not a1_purpose_allows_care(principal.purpose):
            return false()
        cr, cu = table(models.CareRelationship), table(models.CareUnit)
        current = [cr.c.valid_from <= now, or_(cr.c.valid_to.is_(None), cr.c.valid_to > now)]
        if unit_id is not None:
            unit = literal_column(f"'{uuid.UUID(str(unit_id))}'::uuid", Uuid)
            return exists().where(
                cr.c.patient_id == patient_id, cr.c.care_unit_id == unit, *current
            )
        return exists().where(
            cr.c.patient_id == patient_id,
            cr.c.care_unit_id == cu.c.id,
            cu.c.hsa_id == (principal.care_unit_hsa_id or ""),
            *current,
        )
    if kind is PrincipalKind.PATIENT:
        own: ColumnElement[bool] = patient_id == _person(principal.person_identifier)
        return own
    if kind is PrincipalKind.PROXY:
        rep = table(models.Representative)
        today = _utc_date(now)
        return exists().where(
            rep.c.patient_id == patient_id,
            rep.c.representative_patient_id == _person(principal.person_identifier),
            rep.c.valid_from <= today,
            or_(rep.c.valid_to.is_(None), rep.c.valid_to >= today),
        )
    if kind is PrincipalKind.RESEARCH:
        c, rs = table(models.Consent), table(models.ResearchStudy)
        client = principal.client_id or principal.subject
        return exists().where(
            c.c.patient_id == patient_id,
            c.c.kind == "research",
            c.c.research_study_id == rs.c.id,
            rs.c.id == principal.study_id,
            rs.c.allows_record_access.is_(True),
            rs.c.client_id == client,
            rs.c.ethics_approval_ref != "",
            rs.c.approved_on <= _utc_date(now),
            c.c.revoked_at.is_(None),
            c.c.valid_from <= now,
            or_(c.c.valid_to.is_(None), c.c.valid_to > now),
        )
    return false()
