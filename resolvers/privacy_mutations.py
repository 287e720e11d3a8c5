"""The patient's say over their data, as mutations: consents, blocks, temporary lifts and
representatives. Who may do what is decided here (A5, A8, A9, A10); every write is audited.

Actors, relative to the patient (from the policy's decision for that patient):
- the patient (16 and over, A10) or a holder of power of attorney: give and revoke consents;
- a guardian of a child up to 12: give and revoke consents, never blocks (A9);
- the patient only: place and lift blocks (A9);
- a temporary lifting of blocks (A5): the patient, or a clinician with access recording the
  consent the patient gave them, for their own unit or themself; blocks are not shown to
  clinicians (A7), so they name the patient and lift what hides records from them;
- a clinician with access to the patient (A1): register a consent the patient gave in person
  for their own unit or themselves, or record that the patient lacks capacity (A8); stored as
  recorded by them (given_by clinician_recorded / lacks_capacity, with their HSA-id);
- a system integration: consents (given_by integration) and representatives (guardianships
  come from the population register), never blocks;
- the patient: grant and withdraw power of attorney for themself;
- the head of a unit: exceptions to A10's age rules for their unit (resolvers/portal_exceptions.py).
A person who reads the record only by such an exception has no say over it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, select, update

from app import models
from app.access.facts import BlockFact
from app.access.grants import ClinicianAccess, PersonAccess
from app.access.policy import PatientAccess
from app.access.principal import PrincipalKind
from app.access.rules import ProxyMode, a2_a3_hides, a9_may_manage_blocks
from app.context import Context
from app.errors import BadInput, Forbidden
from app.identifiers import IdentifierError, normalize_person_identifier
from app.models.consent import ConsentGiver
from resolvers.mutations.checks import Checks, now
from resolvers.mutations.outcome import Code, Rejected, RowRef, reject
from resolvers.mutations.outcome import Outcome as Outcome
from resolvers.mutations.policy import require_principal
from resolvers.mutations.runner import Writer
from resolvers.tables import (
    BLOCK,
    CARE_PROVIDER,
    CARE_UNIT,
    CONSENT,
    PATIENT,
    PORTAL_EXCEPTION,
    PRACTITIONER,
    REPRESENTATIVE,
    RESEARCH_STUDY,
)
from schema.ids import decode_id

TABLES = {
    "Consent": CONSENT,
    "Block": BLOCK,
    "Representative": REPRESENTATIVE,
    "PortalException": PORTAL_EXCEPTION,
}
Body = Callable[[Writer], Awaitable[Mapping[str, RowRef]]]


# --- who is acting --------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """The caller in relation to one patient."""

    kind: PrincipalKind
    mode: ProxyMode | None = None  # patients and proxies
    clinician: ClinicianAccess | None = None  # clinicians with A1 access

    @property
    def given_by(self) -> str:
        """Who gives a consent this actor writes (clinicians: see `_consent_giver`)."""
        if self.kind is PrincipalKind.SYSTEM:
            return ConsentGiver.INTEGRATION
        if self.mode not in (None, ProxyMode.SELF):
            return ConsentGiver.REPRESENTATIVE
        return ConsentGiver.PATIENT


async def actor_for(ctx: Context, patient_id: uuid.UUID, field: str) -> Actor:
    """The caller's standing towards the patient; NOT_FOUND if they may not see them, so that
    a refusal never tells whether the patient exists (A12)."""
    require_principal(ctx)
    kind = ctx.principal.kind
    decision: PatientAccess = (await ctx.data.access([patient_id]))[patient_id]
    if kind is PrincipalKind.SYSTEM and decision.may_see_patient:
        return Actor(kind)
    if isinstance(decision, PersonAccess):
        if decision.scope.limited:
            raise forbid(
                ctx, patient_id, "A10: reading by an exception gives no say over the record"
            )
        return Actor(kind, mode=decision.mode)
    if isinstance(decision, ClinicianAccess):
        return Actor(kind, clinician=decision)
    ctx.audit.deny(patient_id, decision.denial_reason or "no access to patient")
    raise reject(field, Code.NOT_FOUND, f"{field}: no such patient")


def forbid(ctx: Context, patient_id: uuid.UUID, message: str) -> Forbidden:
    ctx.audit.deny(patient_id, message)
    return Forbidden(message)


# --- running a privacy mutation ------------------------------------------------------------


async def read_back(ctx: Context, ref: RowRef) -> RowMapping | None:
    """The written row as the caller may see it (None if hidden); the disclosure is audited."""
    table = TABLES[ref.type_name]
    visible = await ctx.data.visible_keys(table, [(ref.patient_id, ref.id)])
    rows = await ctx.data.fetch(select(table).where(visible), disclose=ref.type_name)
    return rows[0] if rows else None


async def run(ctx: Context, body: Body) -> Outcome:
    """One all-or-nothing step (a savepoint of the request), writes audited, rows read back."""
    require_principal(ctx)
    writer = Writer(ctx)
    try:
        async with ctx.conn.begin_nested():
            refs = await body(writer)
    except Rejected as rejected:
        return Outcome(problems=rejected.problems)
    for ref in writer.written:
        ctx.audit.write(ref.patient_id, ref.type_name, ref.id)
    rows = {name: await read_back(ctx, ref) for name, ref in refs.items()}
    return Outcome(rows=rows, refs=refs)


async def set_columns(write: Writer, ref: RowRef, **values: Any) -> None:
    table = TABLES[ref.type_name]
    await write.ctx.conn.execute(
        update(table)
        .where(table.c.patient_id == ref.patient_id, table.c.id == ref.id)
        .values(**values, version=table.c.version + 1, updated_at=now())
    )
    write.written.append(ref)


# --- ids and references ----------------------------------------------------------------


def patient_of(checks: Checks, field: str, value: str) -> uuid.UUID | None:
    return _global(checks, field, value, "Patient")


def _global(checks: Checks, field: str, value: str | None, type_name: str) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        gid = decode_id(value.strip(), field=field)
    except BadInput:
        gid = None
    if gid is None or gid.type_name != type_name:
        checks.add(field, Code.INVALID_IDENTIFIER, f"{field}: not the id of a {type_name}")
        return None
    return gid.id


def row_key(field: str, value: str, type_name: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(patient_id, id) of a patient-scoped row's global id."""
    try:
        gid = decode_id(value.strip(), field=field)
    except BadInput:
        gid = None
    if gid is None or gid.type_name != type_name or gid.patient_id is None:
        raise reject(field, Code.INVALID_IDENTIFIER, f"{field}: not the id of a {type_name}")
    return gid.patient_id, gid.id


async def by_hsa(
    ctx: Context, checks: Checks, field: str, value: str | None, table: Any
) -> RowMapping | None:
    """A reference row (unit, provider, practitioner) by HSA-id; NOT_FOUND if unknown."""
    if value is None or not value.strip():
        return None
    rows = await ctx.data.fetch(select(table).where(table.c.hsa_id == value.strip()))
    if not rows:
        checks.add(field, Code.NOT_FOUND, f"{field}: no such HSA-id")
        return None
    return rows[0]


async def locked_row(
    ctx: Context, type_name: str, key: tuple[uuid.UUID, uuid.UUID], field: str
) -> RowMapping:
    """A row the caller may see, locked for the update; NOT_FOUND otherwise."""
    table = TABLES[type_name]
    visible = await ctx.data.visible_keys(table, [key])
    rows = await ctx.data.fetch(select(table).where(visible).with_for_update(of=table))
    if not rows:
        raise reject(field, Code.NOT_FOUND, f"{field}: no such {type_name}")
    return rows[0]


# --- consents ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GiveConsent:
    patient_id: str
    kind: str
    care_unit_hsa_id: str | None = None
    care_provider_hsa_id: str | None = None
    practitioner_hsa_id: str | None = None
    research_study_id: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    lacks_capacity: bool = False


async def give_consent(ctx: Context, cmd: GiveConsent) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        pid = patient_of(checks, "input.patientId", cmd.patient_id)
        if cmd.kind == "block_lift":
            checks.add("input.kind", Code.INVALID_VALUE, "use temporarilyLiftBlock to lift a block")
        checks.done()
        assert pid is not None
        actor = await actor_for(ctx, pid, "input.patientId")
        unit = await by_hsa(ctx, checks, "input.careUnitHsaId", cmd.care_unit_hsa_id, CARE_UNIT)
        provider = await by_hsa(
            ctx, checks, "input.careProviderHsaId", cmd.care_provider_hsa_id, CARE_PROVIDER
        )
        practitioner = await by_hsa(
            ctx, checks, "input.practitionerHsaId", cmd.practitioner_hsa_id, PRACTITIONER
        )
        study = _global(checks, "input.researchStudyId", cmd.research_study_id, "ResearchStudy")
        start = checks.moment("input.validFrom", cmd.valid_from, required=False) or now()
        end = checks.moment("input.validTo", cmd.valid_to, required=False, past=False)
        checks.order("input.validTo", start, end, "validTo must be after validFrom", strict=True)
        _consent_target(checks, cmd, unit, provider, practitioner, study)
        checks.done()
        if study is not None:
            found = await ctx.data.fetch(
                select(RESEARCH_STUDY.c.id).where(RESEARCH_STUDY.c.id == study)
            )
            if not found:
                raise reject("input.researchStudyId", Code.NOT_FOUND, "no such research study")
        given_by = _consent_giver(ctx, actor, pid, cmd, unit, provider, practitioner)
        clinician_wrote = actor.clinician is not None
        ref = await write.insert(
            models.Consent,
            {
                "patient_id": pid,
                "kind": cmd.kind,
                "care_unit_id": unit["id"] if unit else None,
                "care_provider_id": provider["id"] if provider else None,
                "practitioner_id": practitioner["id"] if practitioner else None,
                "research_study_id": study,
                "given_by": given_by,
                "recorded_by_hsa_id": ctx.principal.subject if clinician_wrote else None,
                "valid_from": start,
                "valid_to": end,
            },
        )
        return {"consent": ref}

    return await run(ctx, body)


def _consent_target(
    checks: Checks,
    cmd: GiveConsent,
    unit: RowMapping | None,
    provider: RowMapping | None,
    practitioner: RowMapping | None,
    study: uuid.UUID | None,
) -> None:
    """What a consent may be for: a study (research), a unit or a user (SVOD, A4), and for NLL
    also a whole provider (A11)."""
    if cmd.kind == "research":
        if study is None:
            checks.add(
                "input.researchStudyId", Code.INVALID_VALUE, "a research consent needs a study"
            )
        return
    if study is not None:
        checks.add(
            "input.researchStudyId", Code.INVALID_VALUE, "only research consents have a study"
        )
    if provider is not None and cmd.kind != "nll_access":
        checks.add(
            "input.careProviderHsaId",
            Code.INVALID_VALUE,
            "SVOD consent is given to a unit or a user, not a whole provider",
        )
    if unit is None and practitioner is None and provider is None:
        checks.add("input", Code.INVALID_VALUE, "say whom the consent is for: a unit or a user")


def _consent_giver(
    ctx: Context,
    actor: Actor,
    pid: uuid.UUID,
    cmd: GiveConsent,
    unit: RowMapping | None,
    provider: RowMapping | None,
    practitioner: RowMapping | None,
) -> str:
    """Who gives the consent; Forbidden when the caller may not register it."""
    if cmd.lacks_capacity and actor.clinician is None:
        raise forbid(ctx, pid, "only a clinician records that a patient lacks capacity (A8)")
    if actor.clinician is not None:
        c = actor.clinician.clinician
        own = (
            (unit is not None and unit["id"] == c.unit_id)
            or (practitioner is not None and practitioner["id"] == c.practitioner_id)
            or (provider is not None and provider["id"] == c.provider_id)
        )
        if cmd.kind == "research" or not own:
            raise forbid(
                ctx, pid, "a clinician registers consents for their own unit or themself only"
            )
        if cmd.lacks_capacity:
            return ConsentGiver.LACKS_CAPACITY
        return ConsentGiver.CLINICIAN_RECORDED
    return actor.given_by


@dataclass(frozen=True, kw_only=True)
class RevokeConsent:
    consent_id: str


async def revoke_consent(ctx: Context, cmd: RevokeConsent) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        key = row_key("input.consentId", cmd.consent_id, "Consent")
        await actor_for(ctx, key[0], "input.consentId")
        row = await locked_row(ctx, "Consent", key, "input.consentId")
        if row["revoked_at"] is not None:
            raise reject("input.consentId", Code.INVALID_STATE, "the consent is already revoked")
        ref = RowRef("Consent", *key)
        await set_columns(write, ref, revoked_at=now())
        return {"consent": ref}

    return await run(ctx, body)


# --- blocks -------------------------------------------------------------------------------


def _block_manager(ctx: Context, actor: Actor, pid: uuid.UUID) -> None:
    """A5/A9: only the patient themself places or lifts blocks: not a guardian or other
    representative, not a clinician, not a system integration (a block is the patient's own
    objection, which nobody may make or withdraw for them)."""
    if not (a9_may_manage_blocks(ctx.principal) and actor.mode is ProxyMode.SELF):
        raise forbid(ctx, pid, "only the patient may place or lift blocks (A9)")


@dataclass(frozen=True, kw_only=True)
class PlaceBlock:
    patient_id: str
    kind: str
    care_provider_hsa_id: str
    care_unit_hsa_id: str | None = None
    records_from: datetime | None = None
    records_to: datetime | None = None
    except_medication: bool = False
    except_alerts: bool = False


async def place_block(ctx: Context, cmd: PlaceBlock) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        pid = patient_of(checks, "input.patientId", cmd.patient_id)
        checks.done()
        assert pid is not None
        _block_manager(ctx, await actor_for(ctx, pid, "input.patientId"), pid)
        provider = await by_hsa(
            ctx, checks, "input.careProviderHsaId", cmd.care_provider_hsa_id, CARE_PROVIDER
        )
        unit = await by_hsa(ctx, checks, "input.careUnitHsaId", cmd.care_unit_hsa_id, CARE_UNIT)
        start = checks.moment("input.recordsFrom", cmd.records_from, required=False, past=False)
        end = checks.moment("input.recordsTo", cmd.records_to, required=False, past=False)
        checks.order("input.recordsTo", start, end, "recordsTo must not be before recordsFrom")
        if cmd.kind == "inner" and cmd.care_unit_hsa_id is None:
            checks.add("input.careUnitHsaId", Code.INVALID_VALUE, "an inner block names a unit")
        if cmd.kind == "outer" and cmd.care_unit_hsa_id is not None:
            checks.add(
                "input.careUnitHsaId", Code.INVALID_VALUE, "an outer block covers a whole provider"
            )
        if unit is not None and provider is not None and unit["care_provider_id"] != provider["id"]:
            checks.add(
                "input.careUnitHsaId", Code.INVALID_REFERENCE, "the unit is not the provider's"
            )
        checks.done()
        assert provider is not None
        ref = await write.insert(
            models.Block,
            {
                "patient_id": pid,
                "kind": cmd.kind,
                "care_provider_id": provider["id"],
                "care_unit_id": unit["id"] if unit else None,
                "records_from": start,
                "records_to": end,
                "except_medication": cmd.except_medication,
                "except_alerts": cmd.except_alerts,
                "placed_at": now(),
            },
        )
        return {"block": ref}

    return await run(ctx, body)


@dataclass(frozen=True, kw_only=True)
class LiftBlock:
    block_id: str


async def lift_block(ctx: Context, cmd: LiftBlock) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        key = row_key("input.blockId", cmd.block_id, "Block")
        _block_manager(ctx, await actor_for(ctx, key[0], "input.blockId"), key[0])
        row = await locked_row(ctx, "Block", key, "input.blockId")
        if row["lifted_at"] is not None:
            raise reject("input.blockId", Code.INVALID_STATE, "the block is already lifted")
        ref = RowRef("Block", *key)
        await set_columns(write, ref, lifted_at=now())
        return {"block": ref}

    return await run(ctx, body)


@dataclass(frozen=True, kw_only=True)
class TemporarilyLiftBlock:
    until: datetime
    block_id: str | None = None
    patient_id: str | None = None
    care_unit_hsa_id: str | None = None
    practitioner_hsa_id: str | None = None


def _lift_giver(ctx: Context, actor: Actor, pid: uuid.UUID, cmd: TemporarilyLiftBlock) -> str:
    """A5: a temporary lifting needs the patient's consent. The patient gives it themself, or
    tells a clinician with access (A1), who records it for their own unit or themself only and
    is named on it. Representatives, system integrations and research clients: FORBIDDEN."""
    if a9_may_manage_blocks(ctx.principal) and actor.mode is ProxyMode.SELF:
        return ConsentGiver.PATIENT
    if actor.clinician is not None:
        c = actor.clinician.clinician
        for_self = (
            cmd.practitioner_hsa_id is not None and cmd.practitioner_hsa_id.strip() == c.hsa_id
        )
        for_own_unit = cmd.care_unit_hsa_id is not None and cmd.care_unit_hsa_id.strip() == (
            ctx.principal.care_unit_hsa_id
        )
        if not (for_self or for_own_unit):
            raise forbid(
                ctx, pid, "a clinician records a lifting for their own unit or themself only (A5)"
            )
        return ConsentGiver.CLINICIAN_RECORDED
    raise forbid(ctx, pid, "a block is lifted only with the patient's own consent (A5)")


async def _blocks_to_lift(
    ctx: Context, actor: Actor, cmd: TemporarilyLiftBlock, pid: uuid.UUID
) -> list[uuid.UUID]:
    """The blocks a lifting covers: the one named, or (by patient id) every block in force
    that hides records from the clinician recording it, or, for the patient, all in force.

    A clinician cannot read blocks (A7), so they name the patient and the lifting covers what
    is hidden from them; the block rows are read here for the write only, never returned."""
    if cmd.block_id is not None:
        key = row_key("input.blockId", cmd.block_id, "Block")
        row = await locked_row(ctx, "Block", key, "input.blockId")
        if row["lifted_at"] is not None:
            raise reject("input.blockId", Code.INVALID_STATE, "the block is already lifted")
        return [key[1]]
    rows = (
        await ctx.conn.execute(
            select(BLOCK.c.id, BLOCK.c.kind, BLOCK.c.care_provider_id, BLOCK.c.care_unit_id)
            .where(BLOCK.c.patient_id == pid, BLOCK.c.lifted_at.is_(None))
            .order_by(BLOCK.c.placed_at, BLOCK.c.id)
            .with_for_update()
        )
    ).all()
    if actor.clinician is None:
        return [r.id for r in rows]
    clinician = actor.clinician.clinician
    return [r.id for r in rows if a2_a3_hides(_block_fact(r), clinician)]


def _block_fact(r: Any) -> BlockFact:
    return BlockFact(r.id, r.kind, r.care_provider_id, r.care_unit_id, None, None, False, False)


async def temporarily_lift_block(ctx: Context, cmd: TemporarilyLiftBlock) -> Outcome:
    """A5: the patient's consent lifting blocks for a unit or a user until a time: one
    `block_lift` consent per block, given by the patient or recorded by a clinician."""

    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        if (cmd.block_id is None) == (cmd.patient_id is None):
            checks.add("input", Code.INVALID_VALUE, "give exactly one of blockId, patientId")
        checks.done()
        if cmd.block_id is not None:
            pid = row_key("input.blockId", cmd.block_id, "Block")[0]
            field = "input.blockId"
        else:
            assert cmd.patient_id is not None
            found = patient_of(checks, "input.patientId", cmd.patient_id)
            checks.done()
            assert found is not None
            pid, field = found, "input.patientId"
        actor = await actor_for(ctx, pid, field)
        given_by = _lift_giver(ctx, actor, pid, cmd)
        unit = await by_hsa(ctx, checks, "input.careUnitHsaId", cmd.care_unit_hsa_id, CARE_UNIT)
        practitioner = await by_hsa(
            ctx, checks, "input.practitionerHsaId", cmd.practitioner_hsa_id, PRACTITIONER
        )
        if (cmd.care_unit_hsa_id is None) == (cmd.practitioner_hsa_id is None):
            checks.add(
                "input", Code.INVALID_VALUE, "give exactly one of careUnitHsaId, practitionerHsaId"
            )
        until = checks.moment("input.until", cmd.until, past=False)
        checks.order("input.until", now(), until, "until must be in the future", strict=True)
        checks.done()
        refs: dict[str, RowRef] = {}
        recorder = ctx.principal.subject if given_by == ConsentGiver.CLINICIAN_RECORDED else None
        for index, block_id in enumerate(await _blocks_to_lift(ctx, actor, cmd, pid)):
            refs[f"consent:{index}"] = await write.insert(
                models.Consent,
                {
                    "patient_id": pid,
                    "kind": "block_lift",
                    "block_id": block_id,
                    "care_unit_id": unit["id"] if unit else None,
                    "practitioner_id": practitioner["id"] if practitioner else None,
                    "given_by": given_by,
                    "recorded_by_hsa_id": recorder,
                    "valid_from": now(),
                    "valid_to": until,
                },
            )
        return refs

    return await run(ctx, body)


# --- representatives ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AddRepresentative:
    patient_id: str
    representative_personnummer: str
    kind: str
    valid_from: date | None = None
    valid_to: date | None = None


async def add_representative(ctx: Context, cmd: AddRepresentative) -> Outcome:
    """Guardianships come from the population register (system integrations); a patient may
    grant power of attorney for themself, also to a person not registered here yet."""

    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        pid = patient_of(checks, "input.patientId", cmd.patient_id)
        identifier = _personnummer(
            checks, "input.representativePersonnummer", cmd.representative_personnummer
        )
        start = checks.day("input.validFrom", cmd.valid_from, required=False, past=False)
        end = checks.day("input.validTo", cmd.valid_to, required=False, past=False)
        checks.order("input.validTo", start, end, "validTo must not be before validFrom")
        checks.done()
        assert pid is not None and identifier is not None
        actor = await actor_for(ctx, pid, "input.patientId")
        _representation_manager(ctx, actor, pid, cmd.kind)
        found = await ctx.data.fetch(
            select(PATIENT.c.id, PATIENT.c.birth_date).where(PATIENT.c.identifier == identifier)
        )
        if not found and actor.kind is PrincipalKind.SYSTEM:
            # A system integration sees every patient: telling it reveals nothing.
            raise reject("input.representativePersonnummer", Code.NOT_FOUND, "no such person")
        if cmd.kind == "guardian" and not await _is_minor(ctx, pid):
            raise reject("input.kind", Code.INVALID_VALUE, "a guardian represents a child under 18")
        if found and found[0]["id"] == pid:
            raise reject(
                "input.representativePersonnummer",
                Code.INVALID_REFERENCE,
                "a patient cannot represent themself",
            )
        # A12: a person not registered yet is named by personnummer (pending, grants nothing
        # until they are registered), so the answer is the same whether or not they are.
        ref = await write.insert(
            models.Representative,
            {
                "patient_id": pid,
                "representative_patient_id": found[0]["id"] if found else None,
                "representative_identifier": None if found else identifier,
                "kind": cmd.kind,
                "valid_from": start or now().date(),
                "valid_to": end,
            },
        )
        return {"representative": ref}

    return await run(ctx, body)


async def _is_minor(ctx: Context, patient_id: uuid.UUID) -> bool:
    from app.access.rules import age_on

    rows = await ctx.data.fetch(select(PATIENT.c.birth_date).where(PATIENT.c.id == patient_id))
    return bool(rows) and age_on(rows[0]["birth_date"], now().date()) < 18


def _personnummer(checks: Checks, field: str, value: str) -> str | None:
    try:
        return normalize_person_identifier("personnummer", value.strip(), field=field)
    except IdentifierError as exc:
        checks.add(field, Code.INVALID_IDENTIFIER, f"{field}: {exc.detail} ({exc.rule})")
        return None


def _representation_manager(ctx: Context, actor: Actor, pid: uuid.UUID, kind: str) -> None:
    if actor.kind is PrincipalKind.SYSTEM:
        return
    if actor.mode is ProxyMode.SELF and ctx.principal.kind is PrincipalKind.PATIENT:
        if kind == "power_of_attorney":
            return
        raise forbid(ctx, pid, "guardianships come from the population register")
    raise forbid(ctx, pid, "only the patient (power of attorney) or a system integration")


@dataclass(frozen=True, kw_only=True)
class RemoveRepresentative:
    representative_id: str


async def remove_representative(ctx: Context, cmd: RemoveRepresentative) -> Outcome:
    """Ends a representation (valid until yesterday); the row stays, as history."""

    async def body(write: Writer) -> dict[str, RowRef]:
        key = row_key("input.representativeId", cmd.representative_id, "Representative")
        actor = await actor_for(ctx, key[0], "input.representativeId")
        row = await locked_row(ctx, "Representative", key, "input.representativeId")
        _representation_manager(ctx, actor, key[0], row["kind"])
        yesterday = now().date() - timedelta(days=1)
        if row["valid_to"] is not None and row["valid_to"] <= yesterday:
            raise reject("input.representativeId", Code.INVALID_STATE, "it has ended already")
        ref = RowRef("Representative", *key)
        await set_columns(write, ref, valid_to=yesterday)
        return {"representative": ref}

    return await run(ctx, body)
