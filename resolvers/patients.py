"""Finding patients: by identifier, by id, and searching (the `patients` list)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, func, select

from app.context import Context
from app.errors import BadInput
from app.identifiers import (
    IdentifierError,
    detect_person_identifier_kind,
    normalize_person_identifier,
)
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
    identifier = normalized_identifier(value)
    found = await ctx.data.fetch(
        select(PATIENT.c.id).where(
            PATIENT.c.identifier == identifier,
            # An external identifier (another system's) may have the same digits.
            PATIENT.c.identifier_kind.in_(PERSON_NUMBER_KINDS),
        )
    )
    if not found:
        return None
    return await ctx.loader(PatientByIdLoader).load(found[0]["id"])


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
        c = PATIENT.c
        out: list[ColumnElement[bool]] = []
        if self.family_name:
            out.append(func.lower(c.family_name).startswith(self.family_name.lower()))
        if self.given_name:
            out.append(func.lower(c.given_name).startswith(self.given_name.lower()))
        if self.born_from is not None:
            out.append(c.birth_date >= self.born_from)
        if self.born_to is not None:
            out.append(c.birth_date <= self.born_to)
        if self.sexes:
            out.append(c.sex.in_(sorted(self.sexes)))
        if self.municipality_codes:
            out.append(c.municipality_code.in_(sorted(self.municipality_codes)))
        if self.identifiers:
            out.append(c.identifier.in_(sorted(self.identifiers)))
            out.append(c.identifier_kind.in_(PERSON_NUMBER_KINDS))
        return out


async def search_patients(
    ctx: Context, search: PatientSearch, *, first: int | None, after: str | None
) -> Page:
    """One page of the patients the caller may find, by name, then id.

    Step 1 reads candidate keys under the policy's search scope (SQL); step 2 asks the policy
    about exactly those patients and reads only the ones it allows, disclosing them.
    """
    size = page_size(first)
    where: list[Any] = [ctx.data.search_scope(PATIENT.c.id), *search.conditions()]
    keyset = list(where)
    if after:
        keyset.append(PATIENT_SORT.after(PATIENT, PATIENT_SORT.decode(after, PATIENT)))
    candidates = await ctx.data.fetch(
        select(*[PATIENT.c[n] for n in PATIENT_SORT.columns])
        .where(*keyset)
        .order_by(*PATIENT_SORT.order(PATIENT))
        .limit(size + 1)
    )
    ids: list[uuid.UUID] = [r["id"] for r in candidates[:size]]
    decisions = await ctx.data.access(ids)
    allowed = [pid for pid in ids if decisions[pid].may_see_identity]
    rows: list[RowMapping] = []
    if allowed:
        fetched = await ctx.data.fetch(
            select(PATIENT).where(PATIENT.c.id.in_(allowed)), disclose="Patient"
        )
        by_id = {r["id"]: r for r in fetched}
        rows = [by_id[pid] for pid in allowed if pid in by_id]

    async def count() -> int:
        return int(await ctx.data.scalar(select(func.count()).select_from(PATIENT).where(*where)))

    considered = candidates[:size]
    # The policy may leave out some of the candidates (a research client never sees a
    # Patient's identity): the cursor goes on after the last one read, not the last shown.
    last = considered[-1] if considered and len(rows) < len(considered) else None
    return Page(rows, len(candidates) > size, after is not None, count=count, last=last)
