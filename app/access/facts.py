"""The facts the access rules decide on, loaded for a whole batch of patients at once.

`load_clinician` resolves the HSA-ids of a clinician's token to rows (one query, cached per
request by the policy). `load_patients` reads everything the rules need about a batch of
patients in one statement, never one per patient: the patients themselves with the care
relationship and emergency step-1 flags as EXISTS columns and their consents, active blocks,
(for proxies) representatives and (for patients and proxies) the exceptions to A10's age rules
as JSON arrays.

The request's first decision saves round trips: `load_clinician_patients` reads a clinician's
assignment and the patients' facts in one statement (finding a patient by personnummer on the
way), and `load_person_patient` a patient's own row with the facts of the record asked for.
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
    Select,
    String,
    Table,
    Uuid,
    any_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.bases import GRANTED_OUTCOMES, municipal_unit
from app.access.categories import MUNICIPAL_CARE_UNIT_KINDS
from app.access.principal import Principal, Purpose
from app.access.rider import facts_rows
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
    rows = await plan.rows(conn, **_clinician_values(principal, today, wanted))
    return _clinician_facts(principal, rows[0] if rows else None, "id")


def _clinician_values(
    principal: Principal, today: date, assignment_id: uuid.UUID | None
) -> dict[str, Any]:
    return {
        "subject": principal.subject,
        "unit_hsa_id": principal.care_unit_hsa_id or "",
        "provider_hsa_id": principal.care_provider_hsa_id or "",
        "today": today,
        "assignment_id": assignment_id,
    }


def _clinician_facts(principal: Principal, found: Any, provider: str) -> ClinicianFacts:
    """The facts of an assignment row (None or a row without one: not found)."""
    if found is None or found["practitioner_id"] is None:
        return ClinicianFacts(principal.subject, None, None, None)
    return ClinicianFacts(
        principal.subject,
        found["practitioner_id"],
        found["unit_id"],
        found[provider],
        found["unit_kind"],
    )


def _clinician_plan(named_assignment: bool) -> Plan:
    stmt, names = _clinician_select(named_assignment)
    return compile_plan(stmt, names=names)


def _clinician_select(named_assignment: bool) -> tuple[Select[Any], list[str]]:
    """The clinician's active assignment (one row: practitioner_id, unit_id, id of the
    provider, unit_kind) and the names of its slots."""
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
    return stmt, names


async def load_person(conn: AsyncConnection, identifier: str | None) -> uuid.UUID | None:
    """The patient row of a logged-in person (patient or proxy), by personnummer."""
    if not identifier:
        return None
    rows = await PLANS.get("load_person", _person_plan).rows(conn, identifier=identifier)
    return rows[0]["id"] if rows else None


async def find_patient(
    conn: AsyncConnection, identifier: str, kinds: tuple[str, ...]
) -> uuid.UUID | None:
    """The patient with this identifier of one of `kinds` (the first found), if any."""
    plan = PLANS.get(("find_patient", kinds), lambda: _find_plan(kinds))
    rows = await plan.rows(conn, identifier=identifier)
    return rows[0]["id"] if rows else None


def _find_plan(kinds: tuple[str, ...]) -> Plan:
    p = table(models.Patient)
    stmt = select(p.c.id).where(
        p.c.identifier == bindparam("identifier", None, type_=String),
        # An external identifier (another system's) may have the same digits.
        p.c.identifier_kind.in_(kinds),
    )
    return compile_plan(stmt, names=["identifier"])


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
    values = _patients_values(principal, patient_ids, now, representative_of)
    values["unit_id"] = clinician.unit_id if clinician is not None else None
    return {row["id"]: _patient_facts(row) for row in await plan.rows(conn, **values)}


def _patients_values(
    principal: Principal,
    patient_ids: Sequence[uuid.UUID],
    now: datetime,
    representative_of: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "ids": list(patient_ids),
        "id": patient_ids[0] if patient_ids else None,
        "now": now,
        "today": now.date(),
        "subject": principal.subject,
        "unit_hsa_id": principal.care_unit_hsa_id,
        "step1_since": now - EMERGENCY_STEP_WINDOW,
        "representative_of": representative_of,
    }


def _patient_facts(row: Any) -> PatientFacts:
    return PatientFacts(
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
        portal_exceptions=tuple(_portal_exception(r) for r in row.get("portal_exceptions") or ()),
    )


async def load_clinician_patients(
    conn: AsyncConnection,
    principal: Principal,
    whom: Whom,
    *,
    now: datetime,
    consent_kinds: Sequence[str],
    with_blocks: bool,
) -> tuple[ClinicianFacts, dict[uuid.UUID, PatientFacts]]:
    """`load_clinician` and then `load_patients` for that clinician, in one statement: the
    assignment is a derived table of one row, the patients' facts a LATERAL correlated to its
    unit (none without an assignment). `whom`: the patients by id, or the one with a person
    number (a search by personnummer, decided in the same round trip)."""
    named = bool(principal.assignment_id)
    wanted = _parse_uuid(principal.assignment_id) if named else None
    if named and wanted is None:
        return ClinicianFacts(principal.subject, None, None, None), {}
    shape = FactsShape(
        single=whom.identifier is None and len(whom.ids) == 1,
        related=True,
        decisions=True,
        step1=principal.purpose is Purpose.ETREAT and bool(principal.emergency_reason),
        step1_unit_known=principal.care_unit_hsa_id is not None,
        consent_kinds=tuple(consent_kinds),
        blocks=with_blocks,
        representatives=False,
        portal_exceptions=False,
        identifier_kinds=whom.kinds if whom.identifier is not None else (),
    )
    key = ("load_clinician_patients", named, shape)
    plan = PLANS.get(key, lambda: _clinician_patients_plan(named, shape))
    values = _patients_values(principal, whom.ids, now) | _clinician_values(
        principal, now.date(), wanted
    )
    values["identifier"] = whom.identifier
    one = shape.single or whom.identifier is not None
    rows = await (facts_rows(plan, conn, values) if one else plan.rows(conn, **values))
    clinician = _clinician_facts(principal, rows[0] if rows else None, "provider_id")
    facts = {row["id"]: _patient_facts(row) for row in rows if row["id"] is not None}
    return clinician, facts


async def load_person_patient(
    conn: AsyncConnection,
    principal: Principal,
    identifier: str,
    kinds: tuple[str, ...],
    *,
    now: datetime,
) -> tuple[uuid.UUID | None, dict[uuid.UUID, PatientFacts]]:
    """`load_person` (the logged-in patient's own row) and the facts of the patient with this
    person number (the first found of `kinds`, with the A10 exceptions), in one statement."""
    shape = FactsShape(
        single=False,
        related=False,
        step1=False,
        step1_unit_known=False,
        consent_kinds=(),
        blocks=False,
        representatives=False,
        portal_exceptions=True,
        identifier_kinds=kinds,
    )
    plan = PLANS.get(("load_person_patient", shape), lambda: _person_patient_plan(shape))
    values = _patients_values(principal, (), now)
    values |= {"identifier": identifier, "person": principal.person_identifier or ""}
    rows = await facts_rows(plan, conn, values)
    person = rows[0]["person_id"] if rows else None
    return person, {row["id"]: _patient_facts(row) for row in rows if row["id"] is not None}


def _person_patient_plan(shape: FactsShape) -> Plan:
    p, me = table(models.Patient), table(models.Patient).alias("me")
    now = bindparam("now", None, type_=DateTime(timezone=True))
    columns, names = _facts_columns(p, shape, now, literal_column("NULL"), None)
    names.remove("ids")
    facts = (
        select(*columns)
        .where(
            p.c.identifier == bindparam("identifier", None, type_=String),
            p.c.identifier_kind.in_(shape.identifier_kinds),
        )
        .limit(1)  # as the search by personnummer: the first one found
        .lateral("facts")
    )
    person = (
        select(me.c.id)
        .where(
            me.c.identifier == bindparam("person", None, type_=String),
            me.c.identifier_kind != "external",  # as load_person
        )
        .scalar_subquery()
    )
    one = select(literal_column("1").label("one")).subquery("one")
    stmt = select(person.label("person_id"), *[facts.c[str(c.key)] for c in columns]).select_from(
        one.outerjoin(facts, true())
    )
    return compile_plan(stmt, names={*names, "identifier", "person"})


@dataclass(frozen=True)
class Whom:
    """The patients of `load_clinician_patients`: by id, or the one with this person number
    (an identifier of one of `kinds`)."""

    ids: Sequence[uuid.UUID] = ()
    identifier: str | None = None
    kinds: tuple[str, ...] = ()


def _clinician_patients_plan(named: bool, shape: FactsShape) -> Plan:
    assignment_select, clinician_names = _clinician_select(named)
    a = assignment_select.subquery("assignment")
    p = table(models.Patient)
    now = bindparam("now", None, type_=DateTime(timezone=True))
    columns, names = _facts_columns(p, shape, now, a.c.unit_id, a.c.unit_kind)
    where: list[ColumnElement[bool]] = [a.c.unit_id.isnot(None)]
    if shape.identifier_kinds:
        where += [
            p.c.identifier == bindparam("identifier", None, type_=String),
            p.c.identifier_kind.in_(shape.identifier_kinds),
        ]
        names.remove("ids")
        names.append("identifier")
        # As the search by personnummer (resolvers/patients.py): the first one found.
        chosen = select(*columns).where(*where).limit(1)
    else:
        chosen = select(*columns).where(*where, _whom(p, shape, names))
    facts = chosen.correlate(a).lateral("facts")
    one = select(literal_column("1").label("one")).subquery("one")
    stmt = select(
        a.c.practitioner_id,
        a.c.unit_id,
        a.c.id.label("provider_id"),
        a.c.unit_kind,
        *[facts.c[str(c.key)] for c in columns],
    ).select_from(one.outerjoin(a, true()).outerjoin(facts, true()))
    return compile_plan(stmt, names=set(names) | set(clinician_names))


def _whom(p: Table, shape: FactsShape, names: list[str]) -> ColumnElement[bool]:
    """The patients by id: `id = $1` for one (renaming the slot), else `= ANY($1)`."""
    if shape.single:
        names[names.index("ids")] = "id"
        return p.c.id == bindparam("id", None, type_=Uuid)
    return p.c.id == any_(bindparam("ids", None, ARRAY(Uuid())))


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
    # load_clinician_patients by person number: the identifier's kinds (empty: by id).
    identifier_kinds: tuple[str, ...] = ()


def _patients_plan(shape: FactsShape) -> Plan:
    """The facts statement of one shape; its slots are named as `load_patients` binds them."""
    p = table(models.Patient)
    now = bindparam("now", None, type_=DateTime(timezone=True))
    unit = bindparam("unit_id", None, type_=Uuid)
    columns, names = _facts_columns(p, shape, now, unit, None)
    if shape.related:
        names.append("unit_id")
    stmt = select(*columns).where(_whom(p, shape, names))
    return compile_plan(stmt, names=set(names))


def _facts_columns(
    p: Table,
    shape: FactsShape,
    now: ColumnElement[Any],
    unit: ColumnElement[Any],
    unit_kind: ColumnElement[Any] | None,
) -> tuple[list[ColumnElement[Any]], list[str]]:
    """The facts' columns of one shape over the patients `p` and the names of their slots.
    `unit`: the clinician's unit (a slot, or the assignment's column); `unit_kind`, when the
    kind is only known in the statement: the municipal decision column is computed only for
    a municipal unit's clinician, as `load_patients` asks for it."""
    columns: list[ColumnElement[Any]] = [p.c.id, p.c.birth_date, p.c.protected_identity]
    names = ["ids"]
    if shape.related:
        columns.extend(_clinician_columns(p, shape, now, unit))
        names += ["now"]
        if shape.decisions:
            decided = _decision_column(p, unit)
            if unit_kind is not None:
                municipal = unit_kind.in_(sorted(MUNICIPAL_CARE_UNIT_KINDS))
                decided = case((municipal, decided), else_=false())
            columns.append(decided.label("decided"))
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
    return columns, names


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
    p: Table, shape: FactsShape, now: ColumnElement[Any], unit: ColumnElement[Any]
) -> list[ColumnElement[Any]]:
    cr = table(models.CareRelationship)
    columns: list[ColumnElement[Any]] = [
        exists()
        .where(
            cr.c.patient_id == p.c.id,
            cr.c.care_unit_id == unit,
            cr.c.valid_from <= now,
            or_(cr.c.valid_to.is_(None), cr.c.valid_to > now),
        )
        .correlate_except(cr)  # the patient, and the assignment where it is in the statement
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


def _decision_column(p: Table, unit: ColumnElement[Any]) -> ColumnElement[Any]:
    """A14: the clinician's unit carries out a granted SoL/LSS decision in force today."""
    md = table(models.MunicipalDecision)
    today = bindparam("today", None, type_=Date)
    decided = exists().where(
        md.c.patient_id == p.c.id,
        md.c.care_unit_id == unit,
        md.c.outcome.in_(GRANTED_OUTCOMES),
        md.c.nullified.is_(False),
        or_(md.c.valid_from.is_(None), md.c.valid_from <= today),
        or_(md.c.valid_to.is_(None), md.c.valid_to >= today),
    )
    return decided.correlate_except(md)


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
