"""The policy seam: for a batch of patients, what each principal may see, as SQL predicates.

Decisions are made once per batch of patients (not per row) and expressed as a predicate on
each table, so that pagination and totalCount are computed over visible rows only and hidden
rows never leave the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import ColumnElement, FromClause, and_, false, true
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.bases import LegalBasis
from app.access.categories import base_table_name
from app.access.principal import Principal


class PatientAccess(Protocol):
    """What one principal may see of one patient's record."""

    @property
    def patient_id(self) -> uuid.UUID: ...

    @property
    def may_see_patient(self) -> bool:
        """Whether anything of this patient's record may be disclosed at all."""
        ...

    @property
    def may_see_identity(self) -> bool:
        """Whether the patient's demographics (name, personnummer) may be disclosed; false for
        research clients, who see opted-in records pseudonymised (A15)."""
        ...

    @property
    def may_see_address(self) -> bool:
        """Whether the address may be disclosed: never for protected identity (A16)."""
        ...

    @property
    def denial_reason(self) -> str | None:
        """Why nothing may be seen, for the audit trail only (never shown to the client)."""
        ...

    @property
    def basis(self) -> LegalBasis | None:
        """The legal basis of what may be seen (app/access/bases.py); None when denied."""
        ...

    def row_filter(self, table: FromClause) -> ColumnElement[bool]:
        """A predicate over `table` selecting the rows of this patient that may be seen."""
        ...

    def blocked_elsewhere(self) -> bool:
        """A7: blocked information exists at another care provider (not which)."""
        ...

    def blocked_providers(self) -> tuple[uuid.UUID, ...]:
        """A6 step 1: the other providers holding data blocked from this principal."""
        ...


class Policy(Protocol):
    async def decide(
        self, conn: AsyncConnection, principal: Principal, patient_ids: Sequence[uuid.UUID]
    ) -> Mapping[uuid.UUID, PatientAccess]:
        """One decision per patient, for the whole batch, in as few queries as possible."""
        ...


@dataclass(frozen=True)
class FixedAccess:
    """Everything or nothing: used by the open and closed policies below."""

    patient_id: uuid.UUID
    may_see_patient: bool
    hidden_nullified: bool = field(default=True)

    @property
    def may_see_identity(self) -> bool:
        return self.may_see_patient

    @property
    def may_see_address(self) -> bool:
        return self.may_see_patient

    @property
    def denial_reason(self) -> str | None:
        return None if self.may_see_patient else "no verified principal"

    @property
    def basis(self) -> LegalBasis | None:
        return LegalBasis.SYSTEM_INTEGRATION if self.may_see_patient else None

    def row_filter(self, table: FromClause) -> ColumnElement[bool]:
        if not self.may_see_patient:
            return false()
        key = table.c.id if base_table_name(table) == "patient" else table.c.patient_id
        return and_(key == self.patient_id, true())

    def blocked_elsewhere(self) -> bool:
        return False

    def blocked_providers(self) -> tuple[uuid.UUID, ...]:
        return ()


class ClosedPolicy:
    """Sees nothing: the policy for a request without a verified principal."""

    async def decide(
        self, conn: AsyncConnection, principal: Principal, patient_ids: Sequence[uuid.UUID]
    ) -> Mapping[uuid.UUID, PatientAccess]:
        return {pid: FixedAccess(pid, may_see_patient=False) for pid in patient_ids}


class OpenPolicy:
    """Sees everything. Only for benchmarks that measure the cost of the real policy
    (settings.access_policy = False) and for trusted internal jobs (FHIR export, seed checks)."""

    async def decide(
        self, conn: AsyncConnection, principal: Principal, patient_ids: Sequence[uuid.UUID]
    ) -> Mapping[uuid.UUID, PatientAccess]:
        return {pid: FixedAccess(pid, may_see_patient=True) for pid in patient_ids}
