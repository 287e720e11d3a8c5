"""Privacy mutations: consents, blocks, temporary lifts, representatives and the head of a
unit's exceptions to A10's age rules (mixed into the root Mutation). Who may do what:
resolvers/privacy_mutations.py, resolvers/portal_exceptions.py and docs/privacy.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from resolvers import portal_exceptions as px
from resolvers import privacy_mutations as pm
from schema.consent import Block, Consent, PortalException
from schema.enums import BlockKind, ConsentKind, PortalExceptionKind, RepresentativeKind
from schema.mutations.common import Info, Payload, command, payload_fields
from schema.patients import Representative


@strawberry.input(
    description="Give a consent (samtycke) for a unit, a user, a provider or a study."
)
class GiveConsentInput:
    patient_id: strawberry.ID = strawberry.field(description="Global id of the patient.")
    kind: ConsentKind = strawberry.field(
        description="SVOD_ACCESS (other providers' records, for a unit or a user), NLL_ACCESS "
        "(all prescriptions, also for a whole provider) or RESEARCH (for a study). Blocks are "
        "lifted with temporarilyLiftBlock."
    )
    care_unit_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the unit the consent is for."
    )
    care_provider_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the provider (NLL_ACCESS only)."
    )
    practitioner_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the user the consent is for."
    )
    research_study_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the research study (RESEARCH only)."
    )
    valid_from: datetime | None = strawberry.field(
        default=None, description="When it starts (default now); with a UTC offset."
    )
    valid_to: datetime | None = strawberry.field(
        default=None, description="When it ends; open if null."
    )
    lacks_capacity: bool = strawberry.field(
        default=False,
        description="Clinicians only (A8): the patient cannot take a position, the access is "
        "needed for necessary care and there is no reason to assume they would object. Does "
        "not count if the patient revoked a consent for the same unit or user before.",
    )


@strawberry.input(description="Revoke a consent: it stops counting at once; the row stays.")
class RevokeConsentInput:
    consent_id: strawberry.ID = strawberry.field(description="Global id of the consent.")


@strawberry.input(description="Place a block (spärr) on records; only the patient may (A9).")
class PlaceBlockInput:
    patient_id: strawberry.ID = strawberry.field(description="Global id of the patient.")
    kind: BlockKind = strawberry.field(
        description="INNER: one unit's records from the rest of its provider (and everyone "
        "else); OUTER: a provider's records from other providers."
    )
    care_provider_hsa_id: str = strawberry.field(description="HSA-id of the provider.")
    care_unit_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the unit (INNER blocks only)."
    )
    records_from: datetime | None = strawberry.field(
        default=None, description="Only records from this time; all if null."
    )
    records_to: datetime | None = strawberry.field(
        default=None, description="Only records until this time; all if null."
    )
    except_medication: bool = strawberry.field(
        default=False, description="Keep medication visible despite the block (A5)."
    )
    except_alerts: bool = strawberry.field(
        default=False, description="Keep alert information visible despite the block (A5)."
    )


@strawberry.input(description="Lift a block for good; only the patient may.")
class LiftBlockInput:
    block_id: strawberry.ID = strawberry.field(description="Global id of the block.")


@strawberry.input(
    description="Lift blocks for one unit or one user until a time, by the patient's consent "
    "(A5): given by the patient, or recorded by a clinician the patient gave it to."
)
class TemporarilyLiftBlockInput:
    until: datetime = strawberry.field(description="When the lifting ends (in the future).")
    block_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global id of one block to lift (the patient, who sees their blocks). "
        "Give this or patientId.",
    )
    patient_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global id of the patient: lift every block in force that hides records "
        "from you (a clinician recording the patient's consent; clinicians never see blocks, "
        "A7), or, for the patient, every block in force. Give this or blockId.",
    )
    care_unit_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the unit (give this or practitionerHsaId)."
    )
    practitioner_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the user (give this or careUnitHsaId)."
    )


@strawberry.input(
    description="Record a guardian (system integrations, from the population register) or a "
    "power of attorney (the patient, for themself)."
)
class AddRepresentativeInput:
    patient_id: strawberry.ID = strawberry.field(description="Global id of the patient.")
    representative_personnummer: str = strawberry.field(
        description="Personnummer of the representative (registered as a patient)."
    )
    kind: RepresentativeKind = strawberry.field(description="Guardian or power of attorney.")
    valid_from: date | None = strawberry.field(
        default=None, description="First day it applies (default today)."
    )
    valid_to: date | None = strawberry.field(
        default=None, description="Last day it applies; open if null."
    )


@strawberry.input(description="End a representation (it stays as history).")
class RemoveRepresentativeInput:
    representative_id: strawberry.ID = strawberry.field(
        description="Global id of the representation."
    )


@strawberry.input(
    description="Grant an exception to the patient app's age rules (A10) for your unit's "
    "records; the head of the unit (role verksamhetschef) only."
)
class GrantPortalExceptionInput:
    patient_id: strawberry.ID = strawberry.field(description="Global id of the patient.")
    kind: PortalExceptionKind = strawberry.field(
        description="PATIENT: the child reads their own record at 13-15; GUARDIAN: guardians "
        "keep reading at 13-17; DENY_GUARDIAN: guardians stop reading a child of 0-12."
    )
    reason: str = strawberry.field(
        description="Why (at most 500 characters), e.g. the child's maturity; for the record."
    )
    care_unit_hsa_id: str | None = strawberry.field(
        default=None,
        description="HSA-id of the unit whose records it concerns; only your own unit (the "
        "default).",
    )
    valid_from: datetime | None = strawberry.field(
        default=None, description="When it starts (default now); with a UTC offset."
    )
    valid_to: datetime | None = strawberry.field(
        default=None, description="When it ends (in the future); open if null."
    )


@strawberry.input(description="Revoke an exception to A10's age rules; it stops counting at once.")
class RevokePortalExceptionInput:
    portal_exception_id: strawberry.ID = strawberry.field(
        description="Global id of the exception (one of your unit's)."
    )


@strawberry.type(description="The result of a consent mutation.")
class ConsentPayload(Payload):
    consent: Consent | None = strawberry.field(
        description="The consent as written; null when refused."
    )


@strawberry.type(description="The result of temporarilyLiftBlock: one consent per block lifted.")
class BlockLiftPayload(Payload):
    consent: Consent | None = strawberry.field(
        description="The first consent written (the block named by blockId); null when "
        "refused or when no block was lifted."
    )
    consents: list[Consent] = strawberry.field(
        description="Every block_lift consent written, one per block lifted."
    )


@strawberry.type(description="The result of a block mutation.")
class BlockPayload(Payload):
    block: Block | None = strawberry.field(description="The block as written; null when refused.")


@strawberry.type(description="The result of a representative mutation.")
class RepresentativePayload(Payload):
    representative: Representative | None = strawberry.field(
        description="The representation as written; null when refused."
    )


@strawberry.type(description="The result of an A10 exception mutation.")
class PortalExceptionPayload(Payload):
    portal_exception: PortalException | None = strawberry.field(
        description="The exception as written; null when refused."
    )


def _portal_exception(outcome: pm.Outcome) -> PortalExceptionPayload:
    row = outcome.row("portal_exception")
    return PortalExceptionPayload(
        portal_exception=PortalException.from_optional(row), **payload_fields(outcome)
    )


def _consent(outcome: pm.Outcome) -> ConsentPayload:
    return ConsentPayload(
        consent=Consent.from_optional(outcome.row("consent")), **payload_fields(outcome)
    )


def _block(outcome: pm.Outcome) -> BlockPayload:
    return BlockPayload(block=Block.from_optional(outcome.row("block")), **payload_fields(outcome))


def _representative(outcome: pm.Outcome) -> RepresentativePayload:
    row = outcome.row("representative")
    return RepresentativePayload(
        representative=Representative.from_optional(row), **payload_fields(outcome)
    )


async def give_consent(
    info: Info, input: Annotated[GiveConsentInput, strawberry.argument(description="The consent.")]
) -> ConsentPayload:
    return _consent(await pm.give_consent(info.context, command(input, pm.GiveConsent)))


async def revoke_consent(
    info: Info,
    input: Annotated[RevokeConsentInput, strawberry.argument(description="Which consent.")],
) -> ConsentPayload:
    return _consent(await pm.revoke_consent(info.context, command(input, pm.RevokeConsent)))


async def place_block(
    info: Info, input: Annotated[PlaceBlockInput, strawberry.argument(description="The block.")]
) -> BlockPayload:
    return _block(await pm.place_block(info.context, command(input, pm.PlaceBlock)))


async def lift_block(
    info: Info, input: Annotated[LiftBlockInput, strawberry.argument(description="Which block.")]
) -> BlockPayload:
    return _block(await pm.lift_block(info.context, command(input, pm.LiftBlock)))


async def temporarily_lift_block(
    info: Info,
    input: Annotated[
        TemporarilyLiftBlockInput, strawberry.argument(description="Which blocks, for whom.")
    ],
) -> BlockLiftPayload:
    cmd = command(input, pm.TemporarilyLiftBlock)
    outcome = await pm.temporarily_lift_block(info.context, cmd)
    rows = [outcome.row(name) for name in sorted(outcome.rows, key=lambda n: int(n[8:]))]
    consents = [c for row in rows if (c := Consent.from_optional(row)) is not None]
    return BlockLiftPayload(
        consent=consents[0] if consents else None, consents=consents, **payload_fields(outcome)
    )


async def add_representative(
    info: Info,
    input: Annotated[AddRepresentativeInput, strawberry.argument(description="Who, for whom.")],
) -> RepresentativePayload:
    cmd = command(input, pm.AddRepresentative)
    return _representative(await pm.add_representative(info.context, cmd))


async def remove_representative(
    info: Info,
    input: Annotated[RemoveRepresentativeInput, strawberry.argument(description="Which one.")],
) -> RepresentativePayload:
    cmd = command(input, pm.RemoveRepresentative)
    return _representative(await pm.remove_representative(info.context, cmd))


async def grant_portal_exception(
    info: Info,
    input: Annotated[GrantPortalExceptionInput, strawberry.argument(description="The exception.")],
) -> PortalExceptionPayload:
    cmd = command(input, px.GrantPortalException)
    return _portal_exception(await px.grant_portal_exception(info.context, cmd))


async def revoke_portal_exception(
    info: Info,
    input: Annotated[
        RevokePortalExceptionInput, strawberry.argument(description="Which exception.")
    ],
) -> PortalExceptionPayload:
    cmd = command(input, px.RevokePortalException)
    return _portal_exception(await px.revoke_portal_exception(info.context, cmd))


@strawberry.type(description="Privacy mutations (mixed into Mutation).")
class PrivacyMutation:
    give_consent: ConsentPayload = strawberry.mutation(
        resolver=give_consent,
        description="Give a consent: the patient or their representative for any unit, user "
        "or study; a clinician registers one given in person for their own unit or themself.",
    )
    revoke_consent: ConsentPayload = strawberry.mutation(
        resolver=revoke_consent, description="Revoke a consent."
    )
    place_block: BlockPayload = strawberry.mutation(
        resolver=place_block,
        description="Place a block; only the patient themself (not a guardian, a clinician or "
        "a system integration, A9).",
    )
    lift_block: BlockPayload = strawberry.mutation(
        resolver=lift_block, description="Lift a block for good; only the patient themself."
    )
    temporarily_lift_block: BlockLiftPayload = strawberry.mutation(
        resolver=temporarily_lift_block,
        description="Lift blocks for one unit or user until a time (A5), with the patient's "
        "consent: the patient themself, or a clinician with access recording the consent the "
        "patient gave them, for their own unit or themself (given_by clinician_recorded, with "
        "their HSA-id). Representatives and system integrations may not.",
    )
    add_representative: RepresentativePayload = strawberry.mutation(
        resolver=add_representative,
        description="Record a guardian (system integrations) or a power of attorney (the patient).",
    )
    remove_representative: RepresentativePayload = strawberry.mutation(
        resolver=remove_representative, description="End a representation."
    )
    grant_portal_exception: PortalExceptionPayload = strawberry.mutation(
        resolver=grant_portal_exception,
        description="Open the patient app to a child of 13-15 or their guardians, or close it "
        "to the guardians of a child under 13, for one unit's records (A10); the head of the "
        "unit only.",
    )
    revoke_portal_exception: PortalExceptionPayload = strawberry.mutation(
        resolver=revoke_portal_exception,
        description="Revoke an exception to A10's age rules; the head of its unit only.",
    )
