"""DataAccess: the only way resolvers read patient data.

Every root resolver and batch loader asks it for the visibility predicate of a batch of
patients and runs its statement through `fetch`, which records what was disclosed for the audit
trail. A resolver that reads patient rows any other way is a bug (tests walk the schema for it).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import ColumnElement, Executable, RowMapping, Table, and_, false, or_, true, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.policy import PatientAccess, Policy
from app.access.principal import Principal
from app.audit import AuditBuffer


@runtime_checkable
class SearchScope(Protocol):
    """A policy that can say, as SQL, which patients a principal may find in a search."""

    def search_scope(
        self, principal: Principal, patient_id: ColumnElement[Any]
    ) -> ColumnElement[bool]: ...


class DataAccess:
    """Per-request gate between resolvers and the database.

    Batch loaders run concurrently; one connection runs one statement at a time, so every
    statement of the request passes one lock.
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
        self._lock = asyncio.Lock()

    async def access(self, patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PatientAccess]:
        """Decisions for these patients; each patient is decided once per request."""
        wanted = list(dict.fromkeys(patient_ids))
        missing = [pid for pid in wanted if pid not in self._decisions]
        if missing:
            async with self._lock:
                decided = await self.policy.decide(self.conn, self.principal, missing)
            self._decisions.update(decided)
        return {pid: self._decisions[pid] for pid in wanted}

    async def visible_patients(self, patient_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """The patients whose demographics may be disclosed; the others are audited as denied."""
        decisions = await self.access(patient_ids)
        allowed = {pid for pid, d in decisions.items() if d.may_see_patient}
        for pid in decisions.keys() - allowed:
            self.audit.deny(pid, "no access to patient")
        return allowed

    async def visibility(
        self, table: Table, patient_ids: Iterable[uuid.UUID]
    ) -> ColumnElement[bool]:
        """Predicate over `table` for the visible rows of these patients (false if none)."""
        decisions = await self.access(patient_ids)
        filters = [d.row_filter(table) for d in decisions.values() if d.may_see_patient]
        if not filters:
            return false()
        return or_(*filters) if len(filters) > 1 else filters[0]

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
        if isinstance(self.policy, SearchScope):
            return self.policy.search_scope(self.principal, patient_id)
        return false() if self.principal.is_anonymous else true()

    async def fetch(
        self, statement: Executable, *, disclose: str | None = None
    ) -> Sequence[RowMapping]:
        """Run a read; with `disclose` (a type name), record each row's (patient_id, id)."""
        async with self._lock:
            result = await self.conn.execute(statement)
            rows = result.mappings().all()
        if disclose is not None:
            for row in rows:
                # The patient table's own key is its patient id.
                patient_id = row["patient_id"] if "patient_id" in row else row["id"]
                self.audit.disclose(patient_id, disclose, row["id"])
        return rows

    async def scalar(self, statement: Executable) -> Any:
        """Run a read that returns one value (counts); discloses nothing."""
        async with self._lock:
            return (await self.conn.execute(statement)).scalar()
