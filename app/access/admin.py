"""The ADMIN purpose: administration, follow-up and quality assurance of a unit's own care
(PDL 2 kap. 4 § första stycket 2 och 4), as distinct from care of the patient (TREAT).

A clinician whose token carries the role of head of the unit (`verksamhetschef`) or quality
reviewer (`kvalitetsgranskare`), with an active assignment at the unit and purpose ADMIN,
reads the records that unit itself made, of every patient the unit has (or had) a care
relationship or a care contact with: no current care relationship is needed, since following
up past care is the point. Nothing else: not other units' or providers' records (SVOD sharing
is for care only, A3/A4), not consents, blocks, representatives or exceptions, and nothing is
written (writes need TREAT or ETREAT). Blocks are not opened: an inner block never hides a
unit's records from that unit itself (A2), and no other unit's records are read. Every read is
audited with purpose ADMIN like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, FromClause, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.bases import LegalBasis
from app.access.categories import Category, classify
from app.access.facts import ClinicianFacts, table
from app.access.grants import Denied, children, parent_table
from app.access.policy import PatientAccess
from app.access.principal import Principal, PrincipalKind, Purpose

ADMIN_ROLES = frozenset({"verksamhetschef", "kvalitetsgranskare"})


def is_admin_request(principal: Principal) -> bool:
    return principal.kind is PrincipalKind.CLINICIAN and principal.purpose is Purpose.ADMIN


@dataclass(frozen=True)
class AdminAccess:
    """A unit's own records of one patient, for administration and quality assurance."""

    patient_id: uuid.UUID
    unit_id: uuid.UUID
    may_see_address: bool
    may_see_patient: bool = field(default=True, init=False)
    may_see_identity: bool = field(default=True, init=False)
    denial_reason: str | None = field(default=None, init=False)
    basis: LegalBasis | None = field(default=LegalBasis.ADMINISTRATION, init=False)

    def row_filter(self, t: FromClause) -> ColumnElement[bool]:
        category = classify(t)
        if category is Category.PATIENT:
            return t.c.id == self.patient_id
        if category.is_clinical:
            return and_(t.c.patient_id == self.patient_id, t.c.care_unit_id == self.unit_id)
        if category is Category.CHILD:
            return children(t, self.patient_id, parent_table(t).c.care_unit_id == self.unit_id)
        if category is Category.CARE_RELATIONSHIP:
            return and_(t.c.patient_id == self.patient_id, t.c.care_unit_id == self.unit_id)
        return false()

    def blocked_elsewhere(self) -> bool:
        return False

    def blocked_providers(self) -> tuple[uuid.UUID, ...]:
        return ()


async def decide_admin(
    conn: AsyncConnection,
    principal: Principal,
    clinician: ClinicianFacts,
    ids: Sequence[uuid.UUID],
) -> dict[uuid.UUID, PatientAccess]:
    """ADMIN decisions for a batch of patients (one statement)."""
    if principal.role not in ADMIN_ROLES:
        reason = "purpose ADMIN needs the role verksamhetschef or kvalitetsgranskare"
        return {pid: Denied(pid, reason) for pid in ids}
    if not clinician.assignment_active or clinician.unit_id is None:
        return {pid: Denied(pid, "no active assignment at the unit (A1)") for pid in ids}
    unit = clinician.unit_id
    p, cr, cc = table(models.Patient), table(models.CareRelationship), table(models.CareContact)
    known = or_(
        exists().where(cr.c.patient_id == p.c.id, cr.c.care_unit_id == unit),
        exists().where(cc.c.patient_id == p.c.id, cc.c.care_unit_id == unit),
    )
    rows = await conn.execute(
        select(p.c.id, p.c.protected_identity, known.label("known")).where(p.c.id.in_(ids))
    )
    decided: dict[uuid.UUID, PatientAccess] = {}
    for row in rows:
        if row.known:
            decided[row.id] = AdminAccess(row.id, unit, not row.protected_identity)
        else:
            decided[row.id] = Denied(row.id, "ADMIN: the unit never had this patient in care")
    return decided
