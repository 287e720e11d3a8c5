"""Look up what a mutation refers to: patient, care unit and provider, care contact,
practitioner. Reference data (organisations) is read directly; patient rows pass `ctx.data`."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import RowMapping, Table, bindparam, literal, select, true

from app.access.categories import ADDRESS_COLUMNS
from app.access.data import ORGANISATION_TABLES
from app.access.principal import PrincipalKind
from app.access.rider import RIDE, Rider, riding
from app.context import Context
from app.errors import BadInput
from app.identifiers import validate_hsa_id
from app.sqlplan import PLANS, Plan, compile_plan
from resolvers.mutations.checks import Checks
from resolvers.mutations.outcome import Code
from resolvers.tables import CARE_PROVIDER, CARE_UNIT, PATIENT, PRACTITIONER
from schema.ids import GlobalId, decode_id


@dataclass(frozen=True)
class Unit:
    id: uuid.UUID
    hsa_id: str
    kind: str
    care_provider_id: uuid.UUID


@dataclass(frozen=True)
class Practitioner:
    id: uuid.UUID | None
    hsa_id: str
    name: str | None
    role_code: str | None


def global_id(
    checks: Checks, field: str, raw: str | None, type_name: str, *, required: bool = True
) -> GlobalId | None:
    """Decode a global id of `type_name`; a malformed or other-typed id is a problem."""
    if raw is None or not raw.strip():
        if required:
            checks.add(field, Code.INVALID_VALUE, f"{field} is required")
        return None
    try:
        gid = decode_id(raw.strip(), field=field)
    except BadInput:
        checks.add(field, Code.INVALID_IDENTIFIER, f"{field}: not a valid global id (global_id)")
        return None
    if gid.type_name != type_name:
        checks.add(
            field,
            Code.INVALID_REFERENCE,
            f"{field} is the id of a {gid.type_name}, not of a {type_name}",
        )
        return None
    return gid


async def one(ctx: Context, table: Table, **where: object) -> RowMapping | None:
    """One row by equality on columns (no disclosure: only existence and keys are used)."""
    condition = [table.c[k] == v for k, v in where.items()]
    rows = await ctx.data.fetch(select(table).where(*condition).limit(1))
    return rows[0] if rows else None


Lookup = tuple[Table, dict[str, object]]


async def ones(
    ctx: Context, lookups: list[Lookup | None], *, deciding: int | None = None
) -> list[RowMapping | None]:
    """`one` of each lookup (None: nothing to look up), all in one statement: each is a
    subquery of at most one row, left-joined to a single row. The statement is compiled once
    per shape (which tables, by which columns: app/sqlplan.py), the values bound per run.
    Address columns of a person's row come back as None, as `one` gives them without a
    decision on the patient.

    `deciding`: the index of a lookup of a patient by id, on whom a clinician's decision is
    made in the same round trip: the lookups ride on the policy's facts statement
    (app/access/rider.py) with the facts row's id as that patient's. Nothing is disclosed by
    deciding, and the write needs the decision next (ensure_may_write)."""
    wanted = [(i, lookup) for i, lookup in enumerate(lookups) if lookup is not None]
    found: list[RowMapping | None] = [None] * len(lookups)
    if not wanted:
        return found
    shape = tuple((i, table.name, tuple(where)) for i, (table, where) in wanted)
    plan = PLANS.get(("mutation_lookups", shape, deciding), lambda: _lookup_plan(wanted, deciding))
    values = {_slot(i, k, deciding): v for i, (_, where) in wanted for k, v in where.items()}
    result = await _lookup_row(ctx, plan, values, wanted, deciding)
    for i, (table, _) in wanted:
        if result[f"{RIDE}l{i}_found"] is None:
            continue
        row = {c.name: result[f"{RIDE}l{i}_{c.name}"] for c in table.c}
        if table.name not in ORGANISATION_TABLES:
            row |= {c: None for c in ADDRESS_COLUMNS if c in row}
        found[i] = cast(RowMapping, row)
    return found


def _slot(i: int, column: str, deciding: int | None) -> str:
    # The decided patient's id is the `pid` a rider's read gets from the facts row.
    return "pid" if i == deciding else f"l{i}_{column}"


async def _lookup_row(
    ctx: Context,
    plan: Plan,
    values: dict[str, object],
    wanted: list[tuple[int, Lookup]],
    deciding: int | None,
) -> Mapping[str, Any]:
    """The lookups' row, its columns prefixed as a rider's: ridden on the clinician's
    decision where one is to be made, else a statement of its own."""
    if deciding is not None and ctx.principal.kind is PrincipalKind.CLINICIAN:
        columns = _columns(tuple((i, table) for i, (table, _) in wanted))
        patient_id = cast(uuid.UUID, values["pid"])
        rider = Rider(plan, values={k: v for k, v in values.items() if k != "pid"}, columns=columns)
        with riding(rider):
            await ctx.data.access([patient_id])
        for ridden in rider.rows:  # none: the decision was made before, or without facts
            if ridden["id"] == patient_id:
                return ridden
    alone = (await ctx.data.fetch_plan(plan, values))[0]
    return {RIDE + name: value for name, value in alone.items()}


@functools.cache
def _columns(tables: tuple[tuple[int, Table], ...]) -> tuple[str, ...]:
    """The columns of the lookups' statement (`_lookup_plan`)."""
    return tuple(f"l{i}_{name}" for i, table in tables for name in (*table.c.keys(), "found"))


def _lookup_plan(wanted: list[tuple[int, Lookup]], deciding: int | None) -> Plan:
    columns: list[Any] = []
    joined: Any = select(literal(1).label("one")).subquery("lookup")
    names = []
    for i, (table, where) in wanted:
        condition = []
        for k in where:
            names.append(_slot(i, k, deciding))
            condition.append(table.c[k] == bindparam(names[-1], None, type_=table.c[k].type))
        row = select(*table.c, literal(True).label("found")).where(*condition).limit(1)
        sub = row.subquery(f"l{i}")
        joined = joined.outerjoin(sub, true())
        columns.extend(c.label(f"l{i}_{c.name}") for c in sub.c)
    return compile_plan(select(*columns).select_from(joined), names=names)


def birth_date_of(checks: Checks, field: str, row: RowMapping | None) -> date | None:
    """The birth date of a looked-up patient row; NOT_FOUND if there is no such patient."""
    if row is None:
        checks.add(field, Code.NOT_FOUND, f"{field}: no such patient")
        return None
    born: date = row["birth_date"]
    return born


async def patient_birth_date(
    ctx: Context, checks: Checks, field: str, patient_id: uuid.UUID
) -> date | None:
    """The patient's birth date; NOT_FOUND if there is no such patient."""
    return birth_date_of(checks, field, await one(ctx, PATIENT, id=patient_id))


@dataclass(frozen=True)
class UnitKeys:
    """The HSA-ids a unit reference names (checked formats), before they are looked up."""

    hsa_id: str
    provider_hsa_id: str | None

    def lookups(self) -> list[Lookup | None]:
        provider = self.provider_hsa_id
        return [
            (CARE_UNIT, {"hsa_id": self.hsa_id}),
            (CARE_PROVIDER, {"hsa_id": provider}) if provider is not None else None,
        ]


def unit_keys(
    ctx: Context, checks: Checks, unit_hsa_id: str | None, provider_hsa_id: str | None
) -> UnitKeys | None:
    """The unit's HSA-id (a clinician's own unit by default) and the provider's, formats
    checked; None when there is no valid unit HSA-id (a problem is added)."""
    unit_field, provider_field = "input.careUnitHsaId", "input.careProviderHsaId"
    if unit_hsa_id is None:
        unit_hsa_id = ctx.principal.care_unit_hsa_id
        if unit_hsa_id is None:
            checks.add(
                unit_field, Code.INVALID_VALUE, f"{unit_field} is required (no unit in the token)"
            )
            return None
    hsa = checks.identifier(unit_field, validate_hsa_id, unit_hsa_id)
    provider_hsa = checks.identifier(
        provider_field, validate_hsa_id, provider_hsa_id, required=False
    )
    return UnitKeys(hsa, provider_hsa) if hsa is not None else None


async def care_unit(
    ctx: Context, checks: Checks, unit_hsa_id: str | None, provider_hsa_id: str | None
) -> Unit | None:
    """The unit (by HSA-id; a clinician's own unit by default), checked against the provider."""
    keys = unit_keys(ctx, checks, unit_hsa_id, provider_hsa_id)
    if keys is None:
        return None
    unit_row, provider_row = await ones(ctx, keys.lookups())
    return unit_of(checks, keys, unit_row, provider_row)


def unit_of(
    checks: Checks, keys: UnitKeys, row: RowMapping | None, provider: RowMapping | None
) -> Unit | None:
    """The looked-up unit of `keys`, checked against its looked-up provider."""
    unit_field, provider_field = "input.careUnitHsaId", "input.careProviderHsaId"
    hsa, provider_hsa = keys.hsa_id, keys.provider_hsa_id
    if row is None:
        checks.add(unit_field, Code.NOT_FOUND, f"{unit_field}: no care unit has HSA-id {hsa}")
        return None
    unit = Unit(row["id"], row["hsa_id"], row["kind"], row["care_provider_id"])
    if provider_hsa is not None:
        if provider is None:
            checks.add(
                provider_field,
                Code.NOT_FOUND,
                f"{provider_field}: no care provider has HSA-id {provider_hsa}",
            )
            return None
        if provider["id"] != unit.care_provider_id:
            checks.add(
                provider_field,
                Code.INVALID_REFERENCE,
                f"care unit {hsa} does not belong to care provider {provider_hsa}",
            )
            return None
    return unit


def practitioner_key(ctx: Context, checks: Checks, accountable_hsa_id: str | None) -> str | None:
    """The accountable professional's HSA-id: the signed-in clinician's, or for a system
    integration the one it names (format checked); None when there is none."""
    if ctx.principal.kind is PrincipalKind.CLINICIAN:
        return ctx.principal.subject or None
    field = "input.accountableHsaId"
    return checks.identifier(field, validate_hsa_id, accountable_hsa_id, required=False) or None


async def practitioner(
    ctx: Context, checks: Checks, accountable_hsa_id: str | None
) -> Practitioner | None:
    """The accountable professional: the signed-in clinician, or for a system integration the
    HSA-id it names (looked up in the directory when known)."""
    hsa = practitioner_key(ctx, checks, accountable_hsa_id)
    if hsa is None:
        return None
    return practitioner_of(ctx, hsa, await one(ctx, PRACTITIONER, hsa_id=hsa))


def practitioner_of(ctx: Context, hsa: str, row: RowMapping | None) -> Practitioner:
    """The accountable professional of HSA-id `hsa`, with its directory row if it has one."""
    principal = ctx.principal
    # Token claims are free text: cut them to the header's columns.
    role = (principal.role or (row["profession"] if row else None) or "")[:40] or None
    if row is None:
        return Practitioner(None, hsa, (principal.name or "")[:200] or None, role)
    return Practitioner(row["id"], hsa, f"{row['given_name']} {row['family_name']}"[:200], role)


async def patient_row(
    ctx: Context,
    checks: Checks,
    field: str,
    table: Table,
    gid: GlobalId | None,
    patient_id: uuid.UUID | None,
) -> RowMapping | None:
    """A visible row of the patient by its global id; another patient's row is a reference
    error, a missing (or hidden) one NOT_FOUND."""
    if gid is None:
        return None
    if patient_id is not None and gid.patient_id != patient_id:
        checks.add(field, Code.INVALID_REFERENCE, f"{field} belongs to another patient")
        return None
    if gid.patient_id is None:
        checks.add(field, Code.INVALID_IDENTIFIER, f"{field}: not a valid global id (global_id)")
        return None
    visible = await ctx.data.visible_keys(table, [(gid.patient_id, gid.id)])
    rows = await ctx.data.fetch(select(table).where(visible))
    if not rows:
        checks.add(field, Code.NOT_FOUND, f"{field}: no such {gid.type_name}")
        return None
    return rows[0]
