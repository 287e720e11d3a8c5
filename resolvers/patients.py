"""Finding patients: by identifier, by id, and searching (the `patients` list)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, RowMapping, false, func, select

from app.context import Context
from app.errors import BadInput
from app.identifiers import (
    IdentifierError,
    detect_person_identifier_kind,
    normalize_person_identifier,
)
from app.sqlplan import Plan, PlanCache, compile_plan, personal, time_placeholder
from resolvers.loaders.patients import PatientByIdLoader
from resolvers.pagination import Page, SortKey, page_size
from resolvers.tables import PATIENT

PERSON_NUMBER_KINDS = ("personnummer", "samordningsnummer")
PATIENT_SORT = SortKey("Patient", ("family_name", "given_name", "id"), descending=False)


def normalized_identifier(value: str, *, field: str = "personnummer") -> str:
    """A personnummer or samordningsnummer in its stored 12-digit form."""
    try:
        kind = detect_person_identifier_kind(value, field=field)
        return normalize_person_identifier(kind, value, field=field)
    except IdentifierError as exc:
        raise BadInput(str(exc), field=exc.field, rule=exc.rule) from None


async def patient_by_identifier(ctx: Context, value: str) -> RowMapping | None:
    """The patient with this personnummer/samordningsnummer, if the caller may see them."""
    # Checked first: a bad personnummer is a BAD_USER_INPUT whoever asks (an anonymous caller
    # is refused as soon as `ctx.data` is touched).
    identifier = normalized_identifier(value)
    # An external identifier (another system's) may have the same digits: not these kinds.
    found = await ctx.data.find_person(identifier, PERSON_NUMBER_KINDS)
    if found is None:
        return None
    return await ctx.loader(PatientByIdLoader).load(found)


@dataclass(frozen=True)
class PatientSearch:
    """Conditions of a patient search; name parts match case-insensitively from the start."""

    family_name: str | None = None
    given_name: str | None = None
    born_from: date | None = None
    born_to: date | None = None
    sexes: frozenset[str] = frozenset()
    municipality_codes: frozenset[str] = frozenset()
    identifiers: frozenset[str] = frozenset()

    def conditions(self) -> list[ColumnElement[bool]]:
        # Names and person numbers stay bound (`personal`), never in a plan's SQL text.
        c = PATIENT.c
        out: list[ColumnElement[bool]] = []
        if self.family_name:
            out.append(func.lower(c.family_name).startswith(personal(self.family_name.lower())))
        if self.given_name:
            out.append(func.lower(c.given_name).startswith(personal(self.given_name.lower())))
        if self.born_from is not None:
            out.append(c.birth_date >= self.born_from)
        if self.born_to is not None:
            out.append(c.birth_date <= self.born_to)
        if self.sexes:
            out.append(c.sex.in_(sorted(self.sexes)))
        if self.municipality_codes:
            out.append(c.municipality_code.in_(sorted(self.municipality_codes)))
        if self.identifiers:
            out.append(c.identifier.in_([personal(i) for i in sorted(self.identifiers)]))
            out.append(c.identifier_kind.in_(PERSON_NUMBER_KINDS))
        return out


async def search_patients(
    ctx: Context, search: PatientSearch, *, first: int | None, after: str | None
) -> Page:
    """One page of the patients the caller may find, by name, then id.

    Step 1 reads candidate keys under the policy's search scope (SQL); step 2 asks the policy
    about exactly those patients and reads only the ones it allows, disclosing them.
    """
    found = await search_candidates(ctx, search, first=first, after=after)
    rows: list[RowMapping] = []
    if found.rows:
        fetched = await ctx.data.fetch(
            select(PATIENT).where(PATIENT.c.id.in_([r["id"] for r in found.rows])),
            disclose="Patient",
        )
        by_id = {r["id"]: r for r in fetched}
        rows = [by_id[r["id"]] for r in found.rows if r["id"] in by_id]
    last = found.last
    if last is None and found.rows and len(rows) < len(found.rows):
        last = found.rows[-1]  # a patient gone since step 1: go on after it all the same
    return Page(rows, found.has_next, found.has_previous, count=found.count, last=last)


async def search_candidates(
    ctx: Context, search: PatientSearch, *, first: int | None, after: str | None
) -> Page:
    """Steps 1 and 2 of `search_patients`: the page of patients the policy lets the caller
    identify, each row only their sort columns (`PATIENT_SORT`); nothing disclosed yet.

    The candidates' statement is a plan (app/sqlplan.py) per caller, unit, page size and
    search, the cursor's key bound per run: the caller's search scope does not change within
    a token's life, only the time it is evaluated at.
    """
    size = page_size(first)
    key = PATIENT_SORT.decode(after, PATIENT) if after else None
    unit = await ctx.data.search_unit()
    plan = _candidates_plan(ctx, search, size + 1, unit, key is not None)
    ctx.data.record_search(closed=plan.tag == "closed")
    values = {"now": ctx.data.now()} | (PATIENT_SORT.slot_values(key) if key else {})
    candidates = await ctx.data.fetch_plan(plan, values)
    considered = candidates[:size]
    decisions = await ctx.data.access([r["id"] for r in considered])
    rows = [r for r in considered if decisions[r["id"]].may_see_identity]

    async def count() -> int:
        where = [ctx.data.scope_predicate(PATIENT.c.id), *search.conditions()]
        return int(await ctx.data.scalar(select(func.count()).select_from(PATIENT).where(*where)))

    # The policy may leave out some of the candidates (a research client never sees a
    # Patient's identity): the cursor goes on after the last one read, not the last shown.
    last = considered[-1] if considered and len(rows) < len(considered) else None
    return Page(rows, len(candidates) > size, after is not None, count=count, last=last)


def _candidates_plan(
    ctx: Context, search: PatientSearch, limit: int, unit: uuid.UUID | None, after: bool
) -> Plan:
    def build() -> Plan:
        now = time_placeholder()
        scope = ctx.data.scope_predicate(PATIENT.c.id, now=now, unit_id=unit)
        where = [scope, *search.conditions()]
        names: list[str] = []
        if after:
            keyset, names = PATIENT_SORT.after_slots(PATIENT)
            where.append(keyset)
        statement = (
            select(*[PATIENT.c[n] for n in PATIENT_SORT.columns])
            .where(*where)
            .order_by(*PATIENT_SORT.order(PATIENT))
            .limit(limit)
        )
        closed = "closed" if scope.compare(false()) else "open"
        return compile_plan(
            statement, names=names, placeholders={now: "now"}, optional=["now"], tag=closed
        )

    return SEARCHES.get(("patients", ctx.principal, unit, limit, search, after), build)


# Searches by name make a plan each: kept apart, so that they never crowd out the planner's.
SEARCHES = PlanCache(size=256)
