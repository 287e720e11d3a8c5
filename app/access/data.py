"""DataAccess: the only way resolvers read patient data.

Every root resolver and batch loader asks it for the visibility predicate of a batch of
patients and runs its statement through `fetch`, which records what was disclosed for the audit
trail. A resolver that reads patient rows any other way is a bug (tests walk the schema for it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Executable, RowMapping, Table, false, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.policy import PatientAccess, Policy
from app.access.principal import Principal
from app.audit import AuditBuffer


class DataAccess:
    """Per-request gate between resolvers and the database."""

    def __init__(
        self,
        conn: AsyncConnection,
        principal: Principal,
        policy: Policy,
        audit: AuditBuffer,
    ) -> None:
        self.conn = conn
        self.principal = principal
        self.policy = policy
        self.audit = audit
        self._decisions: dict[uuid.UUID, PatientAccess] = {}

    async def access(self, patient_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PatientAccess]:
        """Decisions for these patients; each patient is decided once per request."""
        wanted = list(dict.fromkeys(patient_ids))
        missing = [pid for pid in wanted if pid not in self._decisions]
        if missing:
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

    async def fetch(
        self, statement: Executable, *, disclose: str | None = None
    ) -> Sequence[RowMapping]:
        """Run a read; with `disclose` (a type name), record each row's (patient_id, id)."""
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
        return (await self.conn.execute(statement)).scalar()
