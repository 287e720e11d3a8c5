"""DataAccess: the only way resolvers read patient data.

Every root resolver and batch loader asks it for the visibility predicate of a batch of
patients and runs its statement through `fetch`, which records what was disclosed for the audit
trail. A resolver that reads patient rows any other way is a bug (tests walk the schema for it).
"""

from __future__ import annotations

import asyncio
import typing
import uuid
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from sqlalchemy import (
    ColumnElement,
    Executable,
    FromClause,
    RowMapping,
    Table,
    and_,
    false,
    or_,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.bases import audit_reason
from app.access.categories import ADDRESS_COLUMNS
from app.access.facts import ClinicianFacts, find_patient
from app.access.grouping import for_group, shape
from app.access.policy import PatientAccess, Policy
from app.access.principal import Principal, PrincipalKind
from app.access.pseudonym import pseudonym, text_pseudonym
from app.access.research import NO_RELEASE, Release, load_release
from app.audit import AuditBuffer, AuditEvent
from app.models.base import utcnow
from app.sqlplan import Plan

T = TypeVar("T")


@runtime_checkable
class SearchScope(Protocol):
    """A policy that can say, as SQL, which patients a principal may find in a search."""

    def search_scope(
        self,
        principal: Principal,
        patient_id: ColumnElement[Any],
        now: datetime | None = None,
        unit_id: uuid.UUID | None = None,
    ) -> ColumnElement[bool]: ...


@runtime_checkable
class ClinicianUnit(Protocol):
    """A policy that resolves a clinician's assignment (once per request)."""

    async def clinician(self, conn: AsyncConnection, principal: Principal) -> ClinicianFacts: ...


@runtime_checkable
class IdentifiedDecisions(Protocol):
    """A policy that can find a patient by person number and decide on them in one go."""

    async def decide_identified(
        self, conn: AsyncConnection, principal: Principal, identifier: str, kinds: tuple[str, ...]
    ) -> tuple[uuid.UUID | None, Mapping[uuid.UUID, PatientAccess]] | None: ...


def visibility_of(table: FromClause, decisions: Iterable[PatientAccess]) -> ColumnElement[bool]:
    """The rows of `table` these decisions let the caller see (false if none): patients with
    the same decision but for the id share one `= ANY(ids)` filter."""
    groups: dict[object, list[PatientAccess]] = {}
    filters = []
    for decision in decisions:
        if not decision.may_see_patient:
            continue
        key = shape(decision)
        if key is None:
            filters.append(decision.row_filter(table))
        else:
            groups.setdefault(key, []).append(decision)
    for group in groups.values():
        filters.append(_group_filter(table, group))
    if not filters:
        return false()
    return or_(*filters) if len(filters) > 1 else filters[0]


def _group_filter(table: FromClause, group: list[PatientAccess]) -> ColumnElement[bool]:
    first = group[0].row_filter(table)
    if len(group) > 1:
        grouped = for_group(first, group[0].patient_id, [d.patient_id for d in group])
        if grouped is not None:
            return grouped
        return or_(first, *(d.row_filter(table) for d in group[1:]))
    return first


class DataAccess:
    """Per-request gate between resolvers and the database.

    Batch loaders run concurrently; one connection runs one statement at a time, so every
    statement of the request passes one lock. A statement is never cancelled half-way (that
    closes an asyncpg connection): when graphql-core cancels the siblings of a failed field,
    their statements finish in the background and `settle()` waits for them.
    """

    def __init__(
        self,
        conn: AsyncConnection,
        principal: Principal,
        policy: Policy,
        audit: AuditBuffer,
        *,
        pseudonym_key: bytes = b"",
    ) -> None:
        self.conn = conn
        self.principal = principal
        self.policy = policy
        self.audit = audit
        self.pseudonym_key = pseudonym_key
        self._decisions: dict[uuid.UUID, PatientAccess] = {}
        self._searched = False
        self._release: Release | None = None
        self._lock = asyncio.Lock()
        self._running: set[asyncio.Task[Any]] = set()

    async def access(self, patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PatientAccess]:
        """Decisions for these patients; each patient is decided once per request."""
        wanted = list(dict.fromkeys(patient_ids))
        missing = [pid for pid in wanted if pid not in self._decisions]
        if missing:
            decided = await self._uncancellable(
                self.policy.decide(self.conn, self.principal, missing)
            )
            await self._remember(decided)
        return {pid: self._decisions[pid] for pid in wanted}

    async def find_person(self, identifier: str, kinds: tuple[str, ...]) -> uuid.UUID | None:
        """The patient with this person number (an identifier of one of `kinds`), if any. A
        policy that can (`IdentifiedDecisions`) decides on them in the same round trip, so that
        `access` then costs no statement; nothing is disclosed or denied here."""
        if isinstance(self.policy, IdentifiedDecisions):
            found = await self._uncancellable(
                self.policy.decide_identified(self.conn, self.principal, identifier, kinds)
            )
            if found is not None:
                patient_id, decided = found
                await self._remember(decided)
                return patient_id
        return await self._uncancellable(find_patient(self.conn, identifier, kinds))

    async def _remember(self, decided: Mapping[uuid.UUID, PatientAccess]) -> None:
        """Keep the policy's decisions for the request, and their legal bases for its audit."""
        self._decisions.update(decided)
        note = await self._study_note()
        for pid, decision in decided.items():
            if decision.basis is not None:
                self.audit.bases[pid] = (audit_reason(decision.basis) or "") + note

    def forget(self, patient_id: uuid.UUID) -> None:
        """Decide on this patient again: a write changed a fact the decision rests on (a care
        relationship or a consent was just recorded)."""
        self._decisions.pop(patient_id, None)

    def decided(self, patient_id: uuid.UUID) -> PatientAccess | None:
        """The decision this request holds on the patient (None before `access`, after
        `forget`): a predicate built from it is still the one `visibility` would build."""
        return self._decisions.get(patient_id)

    def returned(self, rows: Sequence[RowMapping], disclose: str) -> Sequence[RowMapping]:
        """Rows a write returned, already filtered by the visibility predicate of `decided`:
        disclosed and scrubbed as `fetch` of the same rows would."""
        return self._disclosed(rows, disclose)

    def deny(self, decision: PatientAccess) -> None:
        """Record that nothing of this patient was disclosed, and why."""
        # The reason is for the audit trail only; clients just see nothing (A12).
        self.audit.deny(decision.patient_id, decision.denial_reason or "no access to patient")

    async def visible_patients(self, patient_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """The patients whose demographics may be disclosed; the others are audited as denied.

        Research clients see no demographics (A15): they reach opted-in records through
        pseudonyms (`pseudonym`), never by personnummer.
        """
        decisions = await self.access(patient_ids)
        allowed = {pid for pid, d in decisions.items() if d.may_see_identity}
        for pid in decisions.keys() - allowed:
            self.deny(decisions[pid])
        return allowed

    async def visibility(
        self, table: Table, patient_ids: Iterable[uuid.UUID]
    ) -> ColumnElement[bool]:
        """Predicate over `table` for the visible rows of these patients (false if none).

        Patients of whom nothing may be seen are audited as denied (A1, A12).
        """
        decisions = await self.access(patient_ids)
        for decision in decisions.values():
            if not decision.may_see_patient:
                self.deny(decision)
        return visibility_of(table, decisions.values())

    async def visible_keys(
        self, table: Table, keys: Iterable[tuple[uuid.UUID, uuid.UUID]]
    ) -> ColumnElement[bool]:
        """Predicate over `table` for the visible rows among these (patient_id, id) keys."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return false()
        visible = await self.visibility(table, (pid for pid, _ in wanted))
        return and_(tuple_(table.c.patient_id, table.c.id).in_(wanted), visible)

    def search_scope(self, patient_id: ColumnElement[Any]) -> ColumnElement[bool]:
        """Predicate over a patient-id column: the patients a search may find.

        A coarse pre-filter for listing patients, so that pagination and counts happen in SQL.
        It never replaces `visible_patients`/`visibility`: the rows of each page still pass the
        policy's decisions. A policy without `search_scope` lets verified principals search all
        patients (the decisions then filter each page) and anonymous callers none.
        """
        scope = self.scope_predicate(patient_id)
        self.record_search(closed=scope.compare(false()))
        return scope

    def scope_predicate(
        self,
        patient_id: ColumnElement[Any],
        *,
        now: datetime | None = None,
        unit_id: uuid.UUID | None = None,
    ) -> ColumnElement[bool]:
        """`search_scope` as of `now` (default: the policy's now), for a clinician of the unit
        `search_unit` found, not yet audited: a plan built on it (app/sqlplan.py) calls
        `record_search` on every run."""
        if isinstance(self.policy, SearchScope):
            return self.policy.search_scope(self.principal, patient_id, now, unit_id)
        return false() if self.principal.is_anonymous else true()

    async def search_unit(self) -> uuid.UUID | None:
        """The unit of a clinician's active assignment, if the policy resolves it: the unit
        whose patients a clinician's search finds (the decisions need it anyway)."""
        if self.principal.kind is not PrincipalKind.CLINICIAN:
            return None
        if not isinstance(self.policy, ClinicianUnit):
            return None
        facts = await self._uncancellable(self.policy.clinician(self.conn, self.principal))
        return facts.unit_id

    def now(self) -> datetime:
        """The time the policy decides at: its own clock when it has one (tests fix it)."""
        clock = getattr(self.policy, "now", None)
        return clock() if callable(clock) else utcnow()

    def record_search(self, *, closed: bool) -> None:
        """A12: every search is logged, also one that may find nobody (patient unknown)."""
        if not self._searched:
            self._searched = True
            self.audit.event(AuditEvent(None, "search", "denied" if closed else "nothing", ()))

    async def fetch(
        self, statement: Executable, *, disclose: str | None = None
    ) -> Sequence[RowMapping]:
        """Run a read; with `disclose` (a type name), record each row's (patient_id, id).

        Address columns of patients whose address may not be seen (A16) come back as None,
        whoever built the statement.
        """
        rows: Sequence[RowMapping] = await self._uncancellable(self._rows(statement))
        return self._disclosed(rows, disclose, scrub=_may_hold_patient_address(statement))

    async def fetch_plan(
        self, plan: Plan, values: Mapping[str, Any], *, disclose: str | None = None
    ) -> Sequence[RowMapping]:
        """`fetch` for a precompiled statement (app/sqlplan.py) and its slot values."""
        rows = await self._uncancellable(plan.rows(self.conn, **values))
        return self._disclosed(typing.cast(Sequence[RowMapping], rows), disclose)

    def _disclosed(
        self, rows: Sequence[RowMapping], disclose: str | None, *, scrub: bool = True
    ) -> Sequence[RowMapping]:
        if scrub and rows and any(column in rows[0] for column in ADDRESS_COLUMNS):
            rows = [self._without_address(row) for row in rows]
        if disclose is not None:
            for row in rows:
                # The patient table's own key is its patient id.
                patient_id = row["patient_id"] if "patient_id" in row else row["id"]
                self.audit.disclose(patient_id, disclose, row["id"])
        return rows

    def _without_address(self, row: RowMapping) -> RowMapping:
        patient_id = row.get("patient_id", row.get("id"))
        decision = self._decisions.get(patient_id) if isinstance(patient_id, uuid.UUID) else None
        if decision is not None and decision.may_see_address:
            return row
        # A plain dict reads like a RowMapping for every use a resolver makes of it.
        scrubbed = dict(row) | {c: None for c in ADDRESS_COLUMNS if c in row}
        return cast(RowMapping, scrubbed)

    async def write_denial(
        self,
        patient_id: uuid.UUID | None,
        care_unit_id: uuid.UUID | None,
        record: str | None = None,
    ) -> str | None:
        """Why the caller may not write this patient's record at this unit (None: may).

        Policies without write rules (the open benchmark policy) allow verified principals.
        """
        decide = getattr(self.policy, "write_denial", None)
        if decide is None:
            return "no verified principal" if self.principal.is_anonymous else None
        reason: str | None = await self._uncancellable(
            decide(self.conn, self.principal, patient_id, care_unit_id, record)
        )
        return reason

    async def may_see_address(self, patient_id: uuid.UUID) -> bool:
        """A16: whether the caller may see this patient's address (never: protected identity)."""
        decisions = await self.access([patient_id])
        return decisions[patient_id].may_see_address

    async def blocked_information_elsewhere(self, patient_id: uuid.UUID) -> bool | None:
        """A7: whether blocked information exists at another provider (None: no access).

        Telling it is a disclosure about the patient, so it is audited.
        """
        decision = (await self.access([patient_id]))[patient_id]
        if not decision.may_see_patient:
            self.deny(decision)
            return None
        found = decision.blocked_elsewhere()
        self.audit.disclose(patient_id, "BlockedInformationElsewhere", str(found).lower())
        return found

    async def emergency_blocked_providers(self, patient_id: uuid.UUID) -> list[uuid.UUID] | None:
        """A6 step 1: which other providers hold data blocked from this clinician.

        Only in an emergency (purpose ETREAT with a reason); the answer is logged as step 1 and
        flagged for review, and opens step 2 (the content) for this user and patient.
        """
        from app.access.rules import a6_emergency

        decision = (await self.access([patient_id]))[patient_id]
        if not decision.may_see_patient or not a6_emergency(self.principal):
            self.audit.deny(
                patient_id,
                decision.denial_reason or "emergency access needs purpose ETREAT and a reason",
            )
            return None
        providers = list(decision.blocked_providers())
        self.audit.emergency_step1(patient_id, [f"CareProvider:{p}" for p in providers])
        return providers

    def pseudonym(self, row_id: uuid.UUID) -> str:
        """A15: the stable pseudonym of a row (a patient, a record) for the token's study."""
        return pseudonym(self.pseudonym_key, self.pseudonym_scope, row_id)

    def text_pseudonym(self, value: str) -> str:
        """A15: the stable pseudonym of another identifier (HSA-id, document id) for the
        token's study."""
        return text_pseudonym(self.pseudonym_key, self.pseudonym_scope, value)

    @property
    def pseudonym_scope(self) -> str:
        """Pseudonyms are per study: two studies cannot link their data sets."""
        study = self.principal.study_id
        return f"study:{study}" if study else f"client:{self.principal.client_id}"

    async def _study_note(self) -> str:
        """A15: a research read is audited with the study and its ethics approval."""
        if self.principal.kind is not PrincipalKind.RESEARCH:
            return ""
        release = await self.research_release()
        if release.study is None:
            return ""
        return f"; ResearchStudy:{release.study}, EthicsApproval:{release.approvals[0]}"

    async def research_release(self) -> Release:
        """A15: what the caller's approved studies release (research clients; loaded once)."""
        if self._release is None:
            if self.principal.kind is not PrincipalKind.RESEARCH:
                self._release = NO_RELEASE
            else:
                client = self.principal.client_id or self.principal.subject
                self._release = await self._uncancellable(
                    load_release(self.conn, client, self.principal.study_id, self.now().date())
                )
        return self._release

    async def scalar(self, statement: Executable) -> Any:
        """Run a read that returns one value (counts); discloses nothing."""
        return await self._uncancellable(self._scalar(statement))

    async def _rows(self, statement: Executable) -> Sequence[RowMapping]:
        return (await self.conn.execute(statement)).mappings().all()

    async def _scalar(self, statement: Executable) -> Any:
        return (await self.conn.execute(statement)).scalar()

    async def _uncancellable(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` under the lock in its own task, shielded from the caller's cancellation."""

        async def locked() -> T:
            async with self._lock:
                return await work

        task = asyncio.ensure_future(locked())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def settle(self) -> None:
        """Wait until no statement of this request is running (before audit, commit)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


# Tables whose address columns describe an organisation, never a person (A16 is about patients).
ORGANISATION_TABLES = frozenset({"care_unit", "care_provider", "municipality"})


def _may_hold_patient_address(statement: Executable) -> bool:
    """False only when every address-named column the statement selects is a column of an
    organisation table (a care unit's municipality is not a protected patient's address);
    anything else, or a statement we cannot inspect, is scrubbed as before."""
    columns = getattr(statement, "selected_columns", None)
    if columns is None:
        return True
    for column in columns:
        if getattr(column, "name", None) not in ADDRESS_COLUMNS:
            continue
        table = getattr(column, "table", None)
        if getattr(table, "name", None) not in ORGANISATION_TABLES:
            return True
    return False
