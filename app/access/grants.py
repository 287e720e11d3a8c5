"""Decisions as SQL: what one principal may see of one patient, as a predicate per table.

Each class implements the PatientAccess protocol (app/access/policy.py). A predicate refers
only to the table's own columns and literal ids from the decision, plus a subquery where the
rule is about another row (a dispensation's prescription, an activity's plan, a plan's
decision), so hidden rows never leave the database and counts are over visible rows only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, FromClause, and_, false, not_, or_, select, true
from sqlmodel import SQLModel

from app import models
from app.access.addressed import addressed_to
from app.access.bases import LegalBasis
from app.access.categories import (
    CHILD_TABLES,
    PRESCRIPTION_FOLLOWERS,
    Category,
    base_table_name,
    classify,
)
from app.access.facts import BlockFact, ClinicianFacts, ReferenceFacts, table
from app.access.rules import PortalScope, ProxyMode, a5_excepted, block_is_other_provider


@dataclass(frozen=True)
class Denied:
    """Nothing of this patient; `denial_reason` goes to the audit trail, never to the client."""

    patient_id: uuid.UUID
    denial_reason: str = "no access to patient"
    may_see_patient: bool = field(default=False, init=False)
    may_see_identity: bool = field(default=False, init=False)
    may_see_address: bool = field(default=False, init=False)
    basis: LegalBasis | None = field(default=None, init=False)

    def row_filter(self, table: FromClause) -> ColumnElement[bool]:
        return false()

    def blocked_elsewhere(self) -> bool:
        return False

    def blocked_providers(self) -> tuple[uuid.UUID, ...]:
        return ()


def _own_rows(t: FromClause, patient_id: uuid.UUID, category: Category) -> ColumnElement[bool]:
    """All rows of the patient in `t` (the patient table is keyed by its own id)."""
    if category is Category.PATIENT:
        return t.c.id == patient_id
    return t.c.patient_id == patient_id


def parent_table(t: FromClause) -> FromClause:
    """The clinical table a child row (Category.CHILD) belongs to."""
    return SQLModel.metadata.tables[CHILD_TABLES[base_table_name(t)][0]]


def children(
    t: FromClause, patient_id: uuid.UUID, parent_filter: ColumnElement[bool]
) -> ColumnElement[bool]:
    """A child row (a plan's activity, a referral's status step) is visible exactly when its
    parent is; `parent_filter` is over parent_table(t)."""
    parent = parent_table(t)
    column = CHILD_TABLES[base_table_name(t)][1]
    return and_(
        t.c.patient_id == patient_id,
        t.c[column].in_(
            select(parent.c.id).where(parent.c.patient_id == patient_id, parent_filter)
        ),
    )


PERSON_BASES = {
    ProxyMode.SELF: LegalBasis.OWN_RECORD,
    ProxyMode.GUARDIAN: LegalBasis.GUARDIAN,
    ProxyMode.POWER_OF_ATTORNEY: LegalBasis.POWER_OF_ATTORNEY,
}


@dataclass(frozen=True)
class SystemAccess:
    """A trusted system integration: everything, audited; never a protected address (A16)."""

    patient_id: uuid.UUID
    may_see_address: bool
    may_see_patient: bool = field(default=True, init=False)
    may_see_identity: bool = field(default=True, init=False)
    denial_reason: str | None = field(default=None, init=False)
    basis: LegalBasis | None = field(default=LegalBasis.SYSTEM_INTEGRATION, init=False)

    def row_filter(self, table: FromClause) -> ColumnElement[bool]:
        return _own_rows(table, self.patient_id, classify(table))

    def blocked_elsewhere(self) -> bool:
        return False

    def blocked_providers(self) -> tuple[uuid.UUID, ...]:
        return ()


@dataclass(frozen=True)
class PersonAccess:
    """The patient, a guardian or a holder of power of attorney (A10): the patient-app view.

    Only items approved for the patient and not nullified, of the units the A10 scope allows
    (exceptions by the head of a unit open or close single units); the patient's own consents,
    representatives and care relationships; blocks and A10 exceptions only for the patient
    themself (A9). Access by exception only (`scope.limited`) reads the opened units' items and
    care relationships and the demographics, nothing of the patient's say over the record.
    """

    patient_id: uuid.UUID
    mode: ProxyMode
    may_see_address: bool
    scope: PortalScope = field(default_factory=PortalScope)
    may_see_patient: bool = field(default=True, init=False)
    may_see_identity: bool = field(default=True, init=False)
    denial_reason: str | None = field(default=None, init=False)

    @property
    def basis(self) -> LegalBasis | None:
        return PERSON_BASES[self.mode]

    def row_filter(self, table: FromClause) -> ColumnElement[bool]:
        category = classify(table)
        own = _own_rows(table, self.patient_id, category)
        if category.is_clinical:
            return and_(
                own,
                table.c.approved_for_patient.is_(True),
                table.c.nullified.is_(False),
                *self._units(table),
            )
        if category is Category.CHILD:
            parent = parent_table(table)
            return children(table, self.patient_id, self.row_filter(parent))
        if category is Category.PATIENT:
            return own
        if category is Category.CARE_RELATIONSHIP:
            return and_(own, *self._units(table))
        if self.scope.limited:
            return false()
        if category in (Category.BLOCK, Category.PORTAL_EXCEPTION):
            return own if self.mode is ProxyMode.SELF else false()
        if category in (Category.CONSENT, Category.REPRESENTATIVE):
            return own
        return false()

    def _units(self, t: FromClause) -> list[ColumnElement[bool]]:
        """A10 exceptions: only the opened units, or all but the closed ones."""
        if self.scope.only is not None:
            return [t.c.care_unit_id.in_(sorted(self.scope.only, key=str))]
        if self.scope.closed:
            return [t.c.care_unit_id.not_in(sorted(self.scope.closed, key=str))]
        return []

    def blocked_elsewhere(self) -> bool:
        return False

    def blocked_providers(self) -> tuple[uuid.UUID, ...]:
        return ()


@dataclass(frozen=True)
class ResearchAccess:
    """A research client and an opted-in patient (A15): clinical rows, never the identity."""

    patient_id: uuid.UUID
    may_see_patient: bool = field(default=True, init=False)
    may_see_identity: bool = field(default=False, init=False)
    may_see_address: bool = field(default=False, init=False)
    denial_reason: str | None = field(default=None, init=False)
    basis: LegalBasis | None = field(default=LegalBasis.RESEARCH_CONSENT, init=False)

    def row_filter(self, table: FromClause) -> ColumnElement[bool]:
        category = classify(table)
        if category.is_clinical:
            return and_(table.c.patient_id == self.patient_id, table.c.nullified.is_(False))
        if category is Category.CHILD:
            return children(table, self.patient_id, self.row_filter(parent_table(table)))
        return false()

    def blocked_elsewhere(self) -> bool:
        return False

    def blocked_providers(self) -> tuple[uuid.UUID, ...]:
        return ()


def _period(t: FromClause, block: BlockFact) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if block.records_from is not None:
        conditions.append(t.c.event_time >= block.records_from)
    if block.records_to is not None:
        conditions.append(t.c.event_time <= block.records_to)
    return conditions


def block_covers(t: FromClause, block: BlockFact) -> ColumnElement[bool]:
    """The rows of `t` a block is about: its unit (inner) or provider (outer), in its period."""
    if block.kind == "inner" and block.care_unit_id is not None:
        where = t.c.care_unit_id == block.care_unit_id
    else:
        where = t.c.care_provider_id == block.care_provider_id
    return and_(where, *_period(t, block))


def block_covers_medication(
    t: FromClause, block: BlockFact, patient_id: uuid.UUID
) -> ColumnElement[bool]:
    """A5: medication is covered by a block unless the block excepts it. A dispensation is
    recorded at the pharmacy, but it tells what the prescriber's unit ordered: a block on the
    prescribing unit or provider covers the dispensations of its prescriptions too (the
    prescription's own time decides the block's period), wherever they were dispensed. The
    same holds for a home-care nurse's administrations of a prescription."""
    own = block_covers(t, block)
    if base_table_name(t) not in PRESCRIPTION_FOLLOWERS:
        return own
    rx = table(models.Prescription)
    covered = select(rx.c.id).where(rx.c.patient_id == patient_id, block_covers(rx, block))
    return or_(own, t.c.prescription_id.in_(covered))


@dataclass(frozen=True)
class ClinicianAccess:
    """A clinician who passed A1 (assignment and care relationship at the unit).

    Own provider's records: all, except units hidden by inner blocks (A2). Other providers'
    records (SVOD, A3/A4): only when `share` (TREAT with consent, or ETREAT), minus blocked
    records unless emergency step 2 is open (A6), and for municipal providers only
    elderly/disability and LSS records (A14). Medication follows NLL (A11): own prescriptions
    always, all of them (`all_medication`) with NLL consent or in an emergency. Medication and
    alerts stay visible through blocks that except them (A5).
    """

    patient_id: uuid.UUID
    clinician: ClinicianFacts
    share: bool
    all_medication: bool
    emergency_open: bool
    blocks: tuple[BlockFact, ...]
    reference: ReferenceFacts
    may_see_address: bool
    # Why the clinician may read at all: a care relationship, a municipal decision (A14), or an
    # emergency (A6); app/access/bases.py.
    basis: LegalBasis | None = LegalBasis.CARE_RELATIONSHIP
    may_see_patient: bool = field(default=True, init=False)
    may_see_identity: bool = field(default=True, init=False)
    denial_reason: str | None = field(default=None, init=False)

    def row_filter(self, table: FromClause) -> ColumnElement[bool]:
        category = classify(table)
        own = _own_rows(table, self.patient_id, category)
        if category.is_clinical:
            return and_(own, self._clinical(table, category))
        if category is Category.CHILD:
            return children(table, self.patient_id, self.row_filter(parent_table(table)))
        if category is Category.CONSENT:
            c = self.clinician
            return and_(
                own,
                or_(
                    table.c.care_unit_id == c.unit_id,
                    table.c.practitioner_id == c.practitioner_id,
                    table.c.care_provider_id == c.provider_id,
                ),
            )
        if category is Category.CARE_RELATIONSHIP:
            return and_(own, table.c.care_provider_id == self.clinician.provider_id)
        if category is Category.PORTAL_EXCEPTION:
            # A10 exceptions of the own unit: its head grants them, its staff may know.
            return and_(own, table.c.care_unit_id == self.clinician.unit_id)
        if category in (Category.PATIENT, Category.REPRESENTATIVE):
            return own
        # Blocks themselves would say which provider is blocked (A7); unknown tables: closed.
        return false()

    def blocked_elsewhere(self) -> bool:
        return any(block_is_other_provider(b, self.clinician) for b in self.blocks)

    def blocked_providers(self) -> tuple[uuid.UUID, ...]:
        found = {
            b.care_provider_id for b in self.blocks if block_is_other_provider(b, self.clinician)
        }
        return tuple(sorted(found, key=str))

    def _hidden(self, t: FromClause, category: Category) -> ColumnElement[bool] | None:
        """Rows hidden by blocks for this table's category, or None if no block applies."""
        covers = [
            block_covers_medication(t, b, self.patient_id)
            if category is Category.MEDICATION
            else block_covers(t, b)
            for b in self.blocks
            if not a5_excepted(b, category)
            and not (self.emergency_open and block_is_other_provider(b, self.clinician))
        ]
        if not covers:
            return None
        return or_(*covers) if len(covers) > 1 else covers[0]

    def _clinical(self, t: FromClause, category: Category) -> ColumnElement[bool]:
        hidden = self._hidden(t, category)
        unhidden = true() if hidden is None else not_(hidden)
        if category is Category.MEDICATION:
            mine = self._own_prescriptions(t)
            return or_(mine, unhidden) if self.all_medication else mine
        own_provider = t.c.care_provider_id == self.clinician.provider_id
        if not self.share:
            visible = and_(own_provider, unhidden)
        else:
            visible = and_(unhidden, or_(own_provider, self._shareable(t)))
        # What was sent to the clinician's provider (a referral, its answer): theirs to read.
        sent = addressed_to(t, self.patient_id, self.clinician.provider_id)
        return visible if sent is None else or_(visible, sent)

    def _own_prescriptions(self, t: FromClause) -> ColumnElement[bool]:
        """A11: prescriptions this clinician wrote, and what happened to them elsewhere (their
        dispensations, their administrations in home care); administrations the clinician
        signed themself are their own too."""
        c = self.clinician
        name = base_table_name(t)
        if name in PRESCRIPTION_FOLLOWERS:
            rx = table(models.Prescription)
            prescribed = t.c.prescription_id.in_(
                select(rx.c.id).where(rx.c.patient_id == self.patient_id, self._mine(rx, c))
            )
            return or_(prescribed, self._mine(t, c)) if name != "dispensation" else prescribed
        return self._mine(t, c)

    @staticmethod
    def _mine(t: FromClause, c: ClinicianFacts) -> ColumnElement[bool]:
        return or_(
            t.c.accountable_practitioner_id == c.practitioner_id, t.c.accountable_hsa_id == c.hsa_id
        )

    def _shareable(self, t: FromClause) -> ColumnElement[bool]:
        """A14: records of municipal care are shared only about elderly/disability care and LSS."""
        ref, name = self.reference, base_table_name(t)
        if name == "municipal_decision" and ref.unshareable_insats:
            return t.c.insats_code.not_in(sorted(ref.unshareable_insats))
        if name == "implementation_plan" and ref.unshareable_insats:
            md = table(models.MunicipalDecision)
            return t.c.decision_id.not_in(
                select(md.c.id).where(
                    md.c.patient_id == self.patient_id,
                    md.c.insats_code.in_(sorted(ref.unshareable_insats)),
                )
            )
        if ref.unshareable_units:
            return t.c.care_unit_id.not_in(sorted(ref.unshareable_units, key=str))
        return true()
