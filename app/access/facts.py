"""The facts the access rules decide on, loaded for a whole batch of patients at once.

`load_clinician` resolves the HSA-ids of a clinician's token to rows (one query, cached per
request by the policy). `load_patients` reads everything the rules need about a batch of
patients in one statement, never one per patient: the patients themselves with the care
relationship and emergency step-1 flags as EXISTS columns and their consents, active blocks,
(for proxies) representatives and (for patients and proxies) the exceptions to A10's age rules
as JSON arrays.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    Date,
    DateTime,
    String,
    Table,
    Uuid,
    any_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.bases import GRANTED_OUTCOMES, municipal_unit
from app.access.categories import MUNICIPAL_CARE_UNIT_KINDS
from app.access.principal import Principal, Purpose
from app.sqlplan import PLANS, Plan, compile_plan

# A6: step 2 (content) must follow step 1 (which providers) by the same user within this time.
EMERGENCY_STEP_WINDOW = timedelta(hours=12)
EMERGENCY_STEP1_ACTION = "emergency_step1"


def table(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


@dataclass(frozen=True)
class ClinicianFacts:
    """A clinician's token resolved against the database; None ids mean "not found"."""

    hsa_id: str
    practitioner_id: uuid.UUID | None
    unit_id: uuid.UUID | None
    provider_id: uuid.UUID | None
    # The kind of the assignment's unit (pharmacy, home_care, ...): some legal bases depend on
    # it (app/access/bases.py).
    unit_kind: str | None = None

    @property
    def assignment_active(self) -> bool:
        """A1: an active assignment (medarbetaruppdrag) at the token's unit and provider."""
        return self.practitioner_id is not None


@dataclass(frozen=True)
class ConsentFact:
    id: uuid.UUID
    kind: str
    care_provider_id: uuid.UUID | None
    care_unit_id: uuid.UUID | None
    practitioner_id: uuid.UUID | None
    research_study_id: uuid.UUID | None
    block_id: uuid.UUID | None
    given_by: str
    valid_from: datetime
    valid_to: datetime | None
    revoked_at: datetime | None

    def valid_at(self, now: datetime) -> bool:
        """In date and not revoked."""
        return (
            self.revoked_at is None
            and self.valid_from <= now
            and (self.valid_to is None or self.valid_to > now)
        )


@dataclass(frozen=True)
class BlockFact:
    id: uuid.UUID
    kind: str
    care_provider_id: uuid.UUID
    care_unit_id: uuid.UUID | None
    records_from: datetime | None
    records_to: datetime | None
    except_medication: bool
    except_alerts: bool


@dataclass(frozen=True)
class RepresentativeFact:
    representative_patient_id: uuid.UUID
    kind: str


@dataclass(frozen=True)
class PortalExceptionFact:
    """An exception to A10's age rules for one unit, granted by its head (not revoked)."""

    kind: str
    care_unit_id: uuid.UUID
    valid_from: datetime
    valid_to: datetime | None

    def valid_at(self, now: datetime) -> bool:
        return self.valid_from <= now and (self.valid_to is None or self.valid_to > now)


@dataclass(frozen=True)
class PatientFacts:
    """Everything the rules know about one patient for one principal."""

    patient_id: uuid.UUID
    birth_date: date
    protected_identity: bool
    care_relationship: bool = False
    # A14: a current granted SoL/LSS decision carried out by the clinician's unit.
    municipal_decision: bool = False
    emergency_step1_done: bool = False
    consents: tuple[ConsentFact, ...] = ()
    blocks: tuple[BlockFact, ...] = ()
    representatives: tuple[RepresentativeFact, ...] = ()
    portal_exceptions: tuple[PortalExceptionFact, ...] = ()


@dataclass(frozen=True)
class ReferenceFacts:
    """Reference data the municipal sharing rule needs (A14), loaded once per request."""

    unshareable_insats: frozenset[str] = frozenset()
    unshareable_units: frozenset[uuid.UUID] = frozenset()


def _parse_uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


async def load_clinician(
    conn: AsyncConnection, principal: Principal, today: date
) -> ClinicianFacts:
    """Resolve practitioner, unit and provider HSA-ids to the active assignment that joins them.

    The unit must belong to the provider named in the token, and when the token names an
    assignment it must be that one.
    """
    named = bool(principal.assignment_id)
    wanted = _parse_uuid(principal.assignment_id) if named else None
    if named and wanted is None:
        return ClinicianFacts(principal.subject, None, None, None)
    plan = PLANS.get(("load_clinician", named), lambda: _clinician_plan(named))
    values = {
        "subject": principal.subject,
        "unit_hsa_id": principal.care_unit_hsa_id or "",
        "provider_hsa_id": principal.care_provider_hsa_id or "",
        "today": today,
        "assignment_id": wanted,
    }
    row = (await plan.rows(conn, **values))[:1]
    if not row:
        return ClinicianFacts(principal.subject, None, None, None)
    found = row[0]
    return ClinicianFacts(
        principal.subject,
        found["practitioner_id"],
        found["unit_id"],
        found["id"],
        found["unit_kind"],
    )


def _clinician_plan(named_assignment: bool) -> Plan:
    a, pr = table(models.Assignment), table(models.Practitioner)
    cu, cp = table(models.CareUnit), table(models.CareProvider)
    today = bindparam("today", None, type_=Date)
    conditions = [
        pr.c.hsa_id == bindparam("subject", None, type_=String),
        cu.c.hsa_id == bindparam("unit_hsa_id", None, type_=String),
        cp.c.hsa_id == bindparam("provider_hsa_id", None, type_=String),
        a.c.care_provider_id == cp.c.id,
        a.c.valid_from <= today,
        or_(a.c.valid_to.is_(None), a.c.valid_to >= today),
    ]
    names = ["subject", "unit_hsa_id", "provider_hsa_id", "today"]
    if named_assignment:
        conditions.append(a.c.id == bindparam("assignment_id", None, type_=Uuid))
        names.append("assignment_id")
    stmt = (
        select(
            pr.c.id.label("practitioner_id"),
            cu.c.id.label("unit_id"),
            cp.c.id,
            cu.c.kind.label("unit_kind"),
        )
        .select_from(
            a.join(pr, pr.c.id == a.c.practitioner_id)
            .join(cu, cu.c.id == a.c.care_unit_id)
            .join(cp, cp.c.id == cu.c.care_provider_id)
        )
        .where(*conditions)
        .limit(1)
    )
    return compile_plan(stmt, names=names)


async def load_person(conn: AsyncConnection, identifier: str | None) -> uuid.UUID | None:
    """The patient row of a logged-in person (patient or proxy), by personnummer."""
    if not identifier:
        return None
    rows = await PLANS.get("load_person", _person_plan).rows(conn, identifier=identifier)
    return rows[0]["id"] if rows else None


def _person_plan() -> Plan:
    p = table(models.Patient)
    stmt = select(p.c.id).where(
        p.c.identifier == bindparam("identifier", None, type_=String),
        # Written into the SQL (app/sqlplan.py), as the partial unique index's predicate is.
        p.c.identifier_kind != "external",
    )
    return compile_plan(stmt, names=["identifier"])


async def load_reference(conn: AsyncConnection) -> ReferenceFacts:
    """A14: insatser that are not elderly/disability care or LSS, and municipal units that do
    not provide such care. Both are usually empty; records that match them are never shared."""
    plan = PLANS.get("load_reference", _reference_plan)
    insats: set[str] = set()
    units: set[uuid.UUID] = set()
    for row in await plan.rows(conn):
        kind, value = row["kind"], row["value"]
        if kind == "insats":
            insats.add(value)
        else:
            units.add(uuid.UUID(value))
    return ReferenceFacts(frozenset(insats), frozenset(units))


def _reference_plan() -> Plan:
    ins, cu, cp = table(models.Insats), table(models.CareUnit), table(models.CareProvider)
    stmt = union_all(
        select(literal("insats").label("kind"), ins.c.code.label("value")).where(
            ins.c.elderly_or_disability.is_(False)
        ),
        select(literal("unit"), cu.c.id.cast(ins.c.code.type))
        .select_from(cu.join(cp, cp.c.id == cu.c.care_provider_id))
        .where(cp.c.kind == "kommun", cu.c.kind.not_in(MUNICIPAL_CARE_UNIT_KINDS)),
    )
    return compile_plan(stmt)


async def load_research_studies(
    conn: AsyncConnection, client_id: str, study_id: uuid.UUID | None, today: date
) -> frozenset[uuid.UUID]:
    """A15: the token's study, if it is one of this research client's ethics-approved studies
    and its approval allows record access (empty otherwise)."""
    rs = table(models.ResearchStudy)
    rows = await conn.execute(
        select(rs.c.id).where(
            rs.c.id == study_id,
            rs.c.allows_record_access.is_(True),
            rs.c.client_id == client_id,
            rs.c.ethics_approval_ref != "",
            rs.c.approved_on <= today,
        )
    )
    return frozenset(r[0] for r in rows)


async def load_patients(
    conn: AsyncConnection,
    principal: Principal,
    patient_ids: Sequence[uuid.UUID],
    *,
    now: datetime,
    clinician: ClinicianFacts | None = None,
    consent_kinds: Sequence[str] = (),
    with_blocks: bool = False,
    representative_of: uuid.UUID | None = None,
    with_portal_exceptions: bool = False,
) -> dict[uuid.UUID, PatientFacts]:
    """Facts for a batch of patients; patients that do not exist are absent from the result.

    One statement, whatever the size of the batch: the care relationship and emergency step 1
    are EXISTS columns, consents, blocks, representatives and A10 exceptions JSON arrays per
    patient.
    """
    related = clinician is not None and clinician.unit_id is not None
    decided = related and clinician is not None and municipal_unit(clinician.unit_kind)
    step1 = related and principal.purpose is Purpose.ETREAT and bool(principal.emergency_reason)
    shape = FactsShape(
        single=len(patient_ids) == 1,
        related=related,
        decisions=decided,
        step1=step1,
        step1_unit_known=principal.care_unit_hsa_id is not None,
        consent_kinds=tuple(consent_kinds),
        blocks=with_blocks,
        representatives=representative_of is not None,
        portal_exceptions=with_portal_exceptions,
    )
    plan = PLANS.get(("load_patients", shape), lambda: _patients_plan(shape))
    values = {
        "ids": list(patient_ids),
        "id": patient_ids[0] if patient_ids else None,
        "now": now,
        "today": now.date(),
        "unit_id": clinician.unit_id if clinician is not None else None,
        "subject": principal.subject,
        "unit_hsa_id": principal.care_unit_hsa_id,
        "step1_since": now - EMERGENCY_STEP_WINDOW,
        "representative_of": representative_of,
    }
    return {
        row["id"]: PatientFacts(
            patient_id=row["id"],
            birth_date=row["birth_date"],
            protected_identity=row["protected_identity"],
            care_relationship=bool(row.get("related", False)),
            municipal_decision=bool(row.get("decided", False)),
            emergency_step1_done=bool(row.get("step1", False)),
            consents=tuple(_consent(r) for r in row.get("consents") or ()),
            blocks=tuple(_block(r) for r in row.get("blocks") or ()),
            representatives=tuple(
                RepresentativeFact(uuid.UUID(r[0]), r[1]) for r in row.get("reps") or ()
            ),
            portal_exceptions=tuple(
                _portal_exception(r) for r in row.get("portal_exceptions") or ()
            ),
        )
        for row in await plan.rows(conn, **values)
    }


@dataclass(frozen=True)
class FactsShape:
    """Which facts `load_patients` reads: the key of its plan."""

    # One patient (most requests): `id = $1`, which PostgreSQL plans once for all runs; for
    # `id = ANY($1)` it assumes ten ids and keeps planning each run with the one it is given.
    single: bool
    related: bool
    step1: bool
    step1_unit_known: bool
    consent_kinds: tuple[str, ...]
    blocks: bool
    representatives: bool
    portal_exceptions: bool
    decisions: bool = False


def _patients_plan(shape: FactsShape) -> Plan:
    """The facts statement of one shape; its slots are named as `load_patients` binds them."""
    p = table(models.Patient)
    now = bindparam("now", None, type_=DateTime(timezone=True))
    columns: list[ColumnElement[Any]] = [p.c.id, p.c.birth_date, p.c.protected_identity]
    names = ["ids"]
    if shape.related:
        columns.extend(_clinician_columns(p, shape, now))
        names += ["unit_id", "now"]
        if shape.decisions:
            columns.append(_decision_column(p))
            names.append("today")
        if shape.step1:
            names += ["subject", "step1_since"] + (
                ["unit_hsa_id"] if shape.step1_unit_known else []
            )
    if shape.consent_kinds:
        # Revoked and expired consents too: a revoked one is an objection (A8).
        c = table(models.Consent)
        columns.append(
            _json_rows(
                c, CONSENT_COLUMNS, c.c.patient_id == p.c.id, c.c.kind.in_(shape.consent_kinds)
            ).label("consents")
        )
    if shape.blocks:
        b = table(models.Block)
        columns.append(
            _json_rows(b, BLOCK_COLUMNS, b.c.patient_id == p.c.id, b.c.lifted_at.is_(None)).label(
                "blocks"
            )
        )
    if shape.representatives:
        rep, today = table(models.Representative), bindparam("today", None, type_=Date)
        columns.append(
            _json_rows(
                rep,
                ("representative_patient_id", "kind"),
                rep.c.patient_id == p.c.id,
                rep.c.representative_patient_id == bindparam("representative_of", None, Uuid),
                rep.c.valid_from <= today,
                or_(rep.c.valid_to.is_(None), rep.c.valid_to >= today),
            ).label("reps")
        )
        names += ["representative_of", "today"]
    if shape.portal_exceptions:
        # Revoked or ended exceptions never count again; the rule checks the dates too.
        pe = table(models.PortalException)
        columns.append(
            _json_rows(
                pe,
                PORTAL_EXCEPTION_COLUMNS,
                pe.c.patient_id == p.c.id,
                pe.c.revoked_at.is_(None),
                or_(pe.c.valid_to.is_(None), pe.c.valid_to > now),
            ).label("portal_exceptions")
        )
        names.append("now")
    if shape.single:
        names[names.index("ids")] = "id"
        stmt = select(*columns).where(p.c.id == bindparam("id", None, type_=Uuid))
    else:
        stmt = select(*columns).where(p.c.id == any_(bindparam("ids", None, ARRAY(Uuid()))))
    return compile_plan(stmt, names=set(names))


CONSENT_COLUMNS = (
    "id",
    "kind",
    "care_provider_id",
    "care_unit_id",
    "practitioner_id",
    "research_study_id",
    "block_id",
    "given_by",
    "valid_from",
    "valid_to",
    "revoked_at",
)
PORTAL_EXCEPTION_COLUMNS = ("kind", "care_unit_id", "valid_from", "valid_to")
BLOCK_COLUMNS = (
    "id",
    "kind",
    "care_provider_id",
    "care_unit_id",
    "records_from",
    "records_to",
    "except_medication",
    "except_alerts",
)


def _clinician_columns(
    p: Table, shape: FactsShape, now: ColumnElement[Any]
) -> list[ColumnElement[Any]]:
    cr = table(models.CareRelationship)
    columns: list[ColumnElement[Any]] = [
        exists()
        .where(
            cr.c.patient_id == p.c.id,
            cr.c.care_unit_id == bindparam("unit_id", None, type_=Uuid),
            cr.c.valid_from <= now,
            or_(cr.c.valid_to.is_(None), cr.c.valid_to > now),
        )
        .label("related")
    ]
    if shape.step1:
        ae = table(models.AuditEntry)
        unit = ae.c.care_unit_hsa_id
        columns.append(
            exists()
            .where(
                ae.c.patient_id == p.c.id,
                ae.c.action == EMERGENCY_STEP1_ACTION,
                ae.c.principal_id == bindparam("subject", None, type_=String),
                unit == bindparam("unit_hsa_id", None, String)
                if shape.step1_unit_known
                else unit.is_(None),
                ae.c.occurred_at > bindparam("step1_since", None, DateTime(timezone=True)),
            )
            .label("step1")
        )
    return columns


def _decision_column(p: Table) -> ColumnElement[Any]:
    """A14: the clinician's unit carries out a granted SoL/LSS decision in force today."""
    md = table(models.MunicipalDecision)
    today = bindparam("today", None, type_=Date)
    return (
        exists()
        .where(
            md.c.patient_id == p.c.id,
            md.c.care_unit_id == bindparam("unit_id", None, type_=Uuid),
            md.c.outcome.in_(GRANTED_OUTCOMES),
            md.c.nullified.is_(False),
            or_(md.c.valid_from.is_(None), md.c.valid_from <= today),
            or_(md.c.valid_to.is_(None), md.c.valid_to >= today),
        )
        .label("decided")
    )


def _json_rows(t: Table, names: Sequence[str], *where: ColumnElement[bool]) -> Any:
    """A correlated subquery: the matching rows of `t` as a JSON array of arrays."""
    rows = func.json_agg(func.json_build_array(*[t.c[n] for n in names]))
    return type_coerce(
        select(func.coalesce(rows, literal_column("'[]'::json"))).where(*where).scalar_subquery(),
        JSON,
    )


def _id(raw: str | None) -> uuid.UUID | None:
    return uuid.UUID(raw) if raw is not None else None


def _time(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw is not None else None


def _consent(r: list[Any]) -> ConsentFact:
    valid_from = _time(r[8])
    assert valid_from is not None
    return ConsentFact(
        uuid.UUID(r[0]), r[1], _id(r[2]), _id(r[3]), _id(r[4]), _id(r[5]), _id(r[6]), r[7],
        valid_from, _time(r[9]), _time(r[10]),
    )  # fmt: skip


def _block(r: list[Any]) -> BlockFact:
    provider = _id(r[2])
    assert provider is not None
    return BlockFact(
        uuid.UUID(r[0]), r[1], provider, _id(r[3]), _time(r[4]), _time(r[5]), r[6], r[7]
    )


def _portal_exception(r: list[Any]) -> PortalExceptionFact:
    valid_from = _time(r[2])
    assert valid_from is not None
    return PortalExceptionFact(r[0], uuid.UUID(r[1]), valid_from, _time(r[3]))
