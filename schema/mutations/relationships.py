"""startCareRelationship and grantNllConsent: the legal bases care creates (docs/legal-bases.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers import privacy_mutations as pm
from resolvers.mutations import relationships
from schema.mutations.common import Info, KeyedInput, Payload, command, payload_fields
from schema.privacy_mutations import ConsentPayload
from schema.relationships import CareRelationship


@strawberry.input(description="A care relationship (vårdrelation) a unit starts with a patient.")
class StartCareRelationshipInput(KeyedInput):
    patient_id: strawberry.ID = strawberry.field(description="Global id of the patient.")
    valid_to: datetime = strawberry.field(
        description="When it ends (required; at most 3 years on), with a UTC offset."
    )
    valid_from: datetime | None = strawberry.field(
        default=None, description="When it starts; default now."
    )
    care_unit_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the unit; default the signed-in clinician's own."
    )
    care_provider_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the unit's provider; checked when given."
    )


@strawberry.type(description="The result of startCareRelationship.")
class StartCareRelationshipPayload(Payload):
    care_relationship: CareRelationship | None = strawberry.field(
        description="The relationship started; null when refused."
    )


async def start_care_relationship(
    info: Info,
    input: Annotated[
        StartCareRelationshipInput, strawberry.argument(description="Which patient, until when.")
    ],
) -> StartCareRelationshipPayload:
    cmd = command(input, relationships.StartCareRelationship)
    outcome = await relationships.start_care_relationship(info.context, cmd)
    row = outcome.row("careRelationship")
    return StartCareRelationshipPayload(
        care_relationship=CareRelationship.from_optional(row), **payload_fields(outcome)
    )


@strawberry.input(
    description="The patient's consent (A11) that a unit, a user or a whole provider reads "
    "their whole medication list (NLL), not only its own prescriptions."
)
class GrantNllConsentInput:
    patient_id: strawberry.ID = strawberry.field(description="Global id of the patient.")
    care_unit_hsa_id: str | None = strawberry.field(
        default=None,
        description="HSA-id of the unit; a clinician recording the patient's spoken consent "
        "may leave all three targets out: it is then for their own unit.",
    )
    care_provider_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of a whole provider."
    )
    practitioner_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of one user."
    )
    valid_to: datetime | None = strawberry.field(
        default=None, description="When it ends; open if null."
    )


async def grant_nll_consent(
    info: Info,
    input: Annotated[GrantNllConsentInput, strawberry.argument(description="For whom.")],
) -> ConsentPayload:
    principal = info.context.principal
    unit = input.care_unit_hsa_id
    if unit is None and input.care_provider_hsa_id is None and input.practitioner_hsa_id is None:
        # A clinician records the consent the patient gave them in person, for their unit.
        unit = principal.care_unit_hsa_id
    cmd = pm.GiveConsent(
        patient_id=input.patient_id,
        kind="nll_access",
        care_unit_hsa_id=unit,
        care_provider_hsa_id=input.care_provider_hsa_id,
        practitioner_hsa_id=input.practitioner_hsa_id,
        valid_to=input.valid_to,
    )
    outcome = await pm.give_consent(info.context, cmd)
    consent = outcome.row("consent")
    from schema.consent import Consent

    return ConsentPayload(consent=Consent.from_optional(consent), **payload_fields(outcome))


@strawberry.type(description="Legal-basis mutations (mixed into Mutation).")
class BasisMutation:
    start_care_relationship: StartCareRelationshipPayload = strawberry.mutation(
        resolver=start_care_relationship,
        description="Start a care relationship between the signed-in clinician's unit and a "
        "patient, until an end date: the unit's staff may then read the record (A1). Audited.",
    )
    grant_nll_consent: ConsentPayload = strawberry.mutation(
        resolver=grant_nll_consent,
        description="Record the patient's NLL consent (A11): the patient (or their "
        "representative) for any unit, user or provider; a clinician the consent the patient "
        "gave in person, for their own unit or themself.",
    )
