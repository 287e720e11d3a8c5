"""CarePolicy: the rules A1-A16 applied to a batch of patients for one principal.

One instance per request (app/context.py creates it), so what is learnt about the principal
(their assignment, their own patient row, their studies, the municipal reference data) is
loaded once per request; each batch of patients costs a fixed number of queries
(app/access/facts.py), never one per patient.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access import rules
from app.access.admin import decide_admin, is_admin_request
from app.access.bases import PHARMACY_UNIT_KINDS, LegalBasis
from app.access.basis_choice import reading_basis
from app.access.expedition import ExpeditionAccess
from app.access.facts import (
    ClinicianFacts,
    PatientFacts,
    ReferenceFacts,
    Whom,
    find_patient,
    load_clinician,
    load_clinician_patients,
    load_patients,
    load_person,
    load_person_patient,
    load_reference,
    load_research_studies,
)
from app.access.grants import (
    ClinicianAccess,
    Denied,
    PersonAccess,
    ResearchAccess,
    SystemAccess,
)
from app.access.policy import PatientAccess
from app.access.principal import Principal, PrincipalKind
from app.access.scope import search_scope
from app.models.base import utcnow

_UNSET = object()
# What a clinician's decision reads of each patient besides the care relationship.
_CLINICIAN_FACTS: dict[str, Any] = {
    "consent_kinds": ("svod_access", "nll_access", "block_lift"),
    "with_blocks": True,
}


class CarePolicy:
    """The real policy (the `Policy` protocol of app/access/policy.py)."""

    def __init__(self, *, now: datetime | None = None) -> None:
        self._now = now
        self._clinician: ClinicianFacts | None = None
        self._person: uuid.UUID | object | None = _UNSET
        self._represented: uuid.UUID | object | None = _UNSET
        self._reference: ReferenceFacts | None = None
        self._studies: frozenset[uuid.UUID] | None = None

    def now(self) -> datetime:
        return self._now or utcnow()

    async def decide(
        self, conn: AsyncConnection, principal: Principal, patient_ids: Sequence[uuid.UUID]
    ) -> Mapping[uuid.UUID, PatientAccess]:
        ids = list(dict.fromkeys(patient_ids))
        if not ids:
            return {}
        kind = principal.kind
        if kind is PrincipalKind.CLINICIAN:
            decided = await self._clinicians(conn, principal, ids)
        elif kind in (PrincipalKind.PATIENT, PrincipalKind.PROXY):
            decided = await self._persons(conn, principal, ids)
        elif kind is PrincipalKind.RESEARCH:
            decided = await self._research(conn, principal, ids)
        elif kind is PrincipalKind.SYSTEM:
            decided = await self._system(conn, principal, ids)
        else:
            decided = {}
        return {pid: decided.get(pid) or Denied(pid, "no access to patient") for pid in ids}

    def search_scope(
        self,
        principal: Principal,
        patient_id: ColumnElement[Any],
        now: datetime | None = None,
        unit_id: uuid.UUID | None = None,
    ) -> ColumnElement[bool]:
        """The patients a search may find (a coarse SQL pre-filter; decisions still apply):
        clinicians their unit's current care relationships (A1), patients themselves,
        proxies those they represent (A10), research clients the opted-in (A15)."""
        return search_scope(principal, patient_id, now or self.now(), unit_id)

    async def write_denial(
        self,
        conn: AsyncConnection,
        principal: Principal,
        patient_id: uuid.UUID | None,
        care_unit_id: uuid.UUID | None,
        record: str | None = None,
    ) -> str | None:
        """Why this principal may not write this patient's record at this unit (None: may).

        System integrations write anywhere. A clinician writes for care (TREAT/ETREAT), with
        an active assignment (A1), at their own unit only; the care relationship is not
        required, since documenting a new contact is how care starts, and what they read back
        still passes A1. At a pharmacy the only record written is a dispensation: the NLL
        expedition basis gives no other (`record` is the table written, None for relations
        and registrations). Patients, proxies and research clients never write the record.
        """
        kind = principal.kind
        if kind is PrincipalKind.SYSTEM:
            return None
        if kind is not PrincipalKind.CLINICIAN:
            return f"a {kind.value} may not write to the record"
        if not rules.a1_purpose_allows_care(principal.purpose):
            return "writing the record is for care (purpose TREAT or ETREAT)"
        clinician = await self.clinician(conn, principal)
        if not clinician.assignment_active:
            return "no active assignment at the unit (A1)"
        if care_unit_id is not None and care_unit_id != clinician.unit_id:
            return "a clinician writes at their own unit only"
        if clinician.unit_kind in PHARMACY_UNIT_KINDS and record != "dispensation":
            return "at a pharmacy only dispensations are written (NLL expedition)"
        return None

    async def clinician(self, conn: AsyncConnection, principal: Principal) -> ClinicianFacts:
        """The clinician's resolved assignment, loaded once per request."""
        if self._clinician is None:
            self._clinician = await load_clinician(conn, principal, self.now().date())
        return self._clinician

    async def person(self, conn: AsyncConnection, principal: Principal) -> uuid.UUID | None:
        """The logged-in person's own patient row (patient or proxy), once per request."""
        if self._person is _UNSET:
            self._person = await load_person(conn, principal.person_identifier)
        return self._person  # type: ignore[return-value]

    async def _clinicians(
        self, conn: AsyncConnection, principal: Principal, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, PatientAccess]:
        if is_admin_request(principal):
            return await decide_admin(conn, principal, await self.clinician(conn, principal), ids)
        if not rules.a1_purpose_allows_care(principal.purpose):
            purpose = principal.purpose.value if principal.purpose else "none"
            return {
                pid: Denied(pid, f"purpose {purpose} does not allow reading records") for pid in ids
            }
        now = self.now()
        facts: dict[uuid.UUID, PatientFacts] | None = None
        if self._clinician is None:
            # The assignment and the patients' facts in one round trip.
            self._clinician, facts = await load_clinician_patients(
                conn, principal, Whom(ids=ids), now=now, **_CLINICIAN_FACTS
            )
        clinician = self._clinician
        if not clinician.assignment_active:
            return {pid: Denied(pid, "no active assignment at the unit (A1)") for pid in ids}
        if facts is None:
            facts = await load_patients(
                conn, principal, ids, now=now, clinician=clinician, **_CLINICIAN_FACTS
            )
        return await self._clinician_decisions(conn, principal, clinician, facts, now)

    async def decide_identified(
        self, conn: AsyncConnection, principal: Principal, identifier: str, kinds: tuple[str, ...]
    ) -> tuple[uuid.UUID | None, Mapping[uuid.UUID, PatientAccess]] | None:
        """The patient with this person number and the decision on them, in one round trip:
        with the clinician's assignment (their first decision of the request), or with a
        patient's own row. None where that does not apply (a proxy, a research client, a
        clinician already resolved): the caller then finds the patient and asks `decide`."""
        if principal.kind is PrincipalKind.PATIENT and self._person is _UNSET:
            return await self._own_identified(conn, principal, identifier, kinds)
        if (
            principal.kind is not PrincipalKind.CLINICIAN
            or self._clinician is not None
            or is_admin_request(principal)
            or not rules.a1_purpose_allows_care(principal.purpose)
        ):
            return None
        now = self.now()
        self._clinician, facts = await load_clinician_patients(
            conn, principal, Whom(identifier=identifier, kinds=kinds), now=now, **_CLINICIAN_FACTS
        )
        clinician = self._clinician
        if not clinician.assignment_active:
            # Nothing was read of the patients: who it is, and then the denial.
            found = await find_patient(conn, identifier, kinds)
            return found, ({} if found is None else await self.decide(conn, principal, [found]))
        if not facts:
            return None, {}
        decided = await self._clinician_decisions(conn, principal, clinician, facts, now)
        return next(iter(facts)), decided

    async def _own_identified(
        self, conn: AsyncConnection, principal: Principal, identifier: str, kinds: tuple[str, ...]
    ) -> tuple[uuid.UUID | None, Mapping[uuid.UUID, PatientAccess]]:
        """`decide_identified` for a patient: their own row and the one asked for, with its
        facts, in one statement; the decision is `decide`'s."""
        now = self.now()
        person, facts = await load_person_patient(conn, principal, identifier, kinds, now=now)
        self._person = person
        if not facts:
            return None, {}
        [found] = facts
        own = (
            self._person_decisions(principal, person, facts, now)
            if person is not None and found == person
            else {}
        )
        return found, {found: own.get(found) or Denied(found, "no access to patient")}

    async def _clinician_decisions(
        self,
        conn: AsyncConnection,
        principal: Principal,
        clinician: ClinicianFacts,
        facts: Mapping[uuid.UUID, PatientFacts],
        now: datetime,
    ) -> dict[uuid.UUID, PatientAccess]:
        emergency = rules.a6_emergency(principal)
        sharing = {
            pid: rules.a4_may_share(principal, patient.consents, clinician, now)
            for pid, patient in facts.items()
        }
        # A14's reference data matters only where other providers' records are shared.
        if self._reference is None and any(sharing.values()):
            self._reference = await load_reference(conn)
        decided: dict[uuid.UUID, PatientAccess] = {}
        for pid, patient in facts.items():
            basis = reading_basis(principal, clinician, patient)
            if basis is LegalBasis.NLL_EXPEDITION:
                decided[pid] = ExpeditionAccess(pid)
                continue
            if basis is None:
                decided[pid] = Denied(pid, "no current care relationship at the unit (A1)")
                continue
            decided[pid] = ClinicianAccess(
                basis=basis,
                patient_id=pid,
                clinician=clinician,
                share=sharing[pid],
                all_medication=emergency or rules.a11_nll_consent(patient.consents, clinician, now),
                emergency_open=rules.a6_step2_open(principal, patient),
                blocks=rules.hiding_blocks(patient, clinician, now),
                reference=self._reference or ReferenceFacts(),
                may_see_address=rules.a16_may_see_address(principal, patient.protected_identity),
            )
        return decided

    async def _persons(
        self, conn: AsyncConnection, principal: Principal, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, PatientAccess]:
        person = await self.person(conn, principal)
        if person is None:
            return {}
        now = self.now()
        if principal.kind is PrincipalKind.PATIENT:
            ids = [pid for pid in ids if pid == person]
            facts = (
                await load_patients(conn, principal, ids, now=now, with_portal_exceptions=True)
                if ids
                else {}
            )
        else:
            represented = await self._represented_id(conn, principal)
            if principal.represented_identifier:
                ids = [pid for pid in ids if pid in (represented, person)]
            facts = await load_patients(
                conn,
                principal,
                ids,
                now=now,
                representative_of=person,
                with_portal_exceptions=True,
            )
        return self._person_decisions(principal, person, facts, now)

    def _person_decisions(
        self,
        principal: Principal,
        person: uuid.UUID,
        facts: Mapping[uuid.UUID, PatientFacts],
        now: datetime,
    ) -> dict[uuid.UUID, PatientAccess]:
        """A patient's or a proxy's decisions on these patients, from their facts (A10, A16)."""
        decided: dict[uuid.UUID, PatientAccess] = {}
        for pid, patient in facts.items():
            modes = rules.proxy_modes(patient, person)
            age = rules.age_on(patient.birth_date, now.date())
            scopes = [
                (mode, scope)
                for mode in modes
                if (scope := rules.a10_person_scope(mode, age, patient.portal_exceptions, now))
            ]
            if not scopes:
                if modes:
                    decided[pid] = Denied(pid, f"A10: no {modes[0].value} access at this age")
                continue
            # Several relations: the one that reads the most (full access before exceptions).
            mode, scope = min(scopes, key=lambda ms: (ms[1].limited, len(ms[1].closed)))
            decided[pid] = PersonAccess(
                pid,
                mode,
                rules.a16_may_see_address(principal, patient.protected_identity),
                scope,
            )
        return decided

    async def _represented_id(
        self, conn: AsyncConnection, principal: Principal
    ) -> uuid.UUID | None:
        if self._represented is _UNSET:
            self._represented = await load_person(conn, principal.represented_identifier)
        return self._represented  # type: ignore[return-value]

    async def _research(
        self, conn: AsyncConnection, principal: Principal, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, PatientAccess]:
        client = principal.client_id or principal.subject
        if self._studies is None:
            self._studies = await load_research_studies(
                conn, client, principal.study_id, self.now().date()
            )
        if not self._studies:
            return {
                pid: Denied(pid, "no ethics-approved study with record access (A15)") for pid in ids
            }
        now = self.now()
        facts = await load_patients(conn, principal, ids, now=now, consent_kinds=("research",))
        return {
            pid: ResearchAccess(pid)
            if rules.a15_research_opt_in(p.consents, self._studies, now)
            else Denied(pid, "no research consent (A15)")
            for pid, p in facts.items()
        }

    async def _system(
        self, conn: AsyncConnection, principal: Principal, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, PatientAccess]:
        facts: dict[uuid.UUID, PatientFacts] = await load_patients(
            conn, principal, ids, now=self.now()
        )
        return {
            pid: SystemAccess(pid, rules.a16_may_see_address(principal, p.protected_identity))
            for pid, p in facts.items()
        }
