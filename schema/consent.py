"""The patient's say over their data: consents (samtycken) and blocks (spärrar); and the
exceptions to the patient app's age rules that the head of a unit grants (A10)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import strawberry

from resolvers.loaders.consent import BlockByIdLoader
from resolvers.loaders.organizations import (
    CareProviderByIdLoader,
    CareUnitByIdLoader,
    PractitionerByIdLoader,
    ResearchStudyByIdLoader,
)
from schema.connections import Info
from schema.enums import BlockKind, ConsentKind, PortalExceptionKind
from schema.fields import field
from schema.node import Node
from schema.refs import CareProviderRef, CareUnitRef, PractitionerRef


async def _provider(info: Info, pk: uuid.UUID | None) -> CareProviderRef | None:
    from schema.organizations import CareProvider

    if pk is None:
        return None
    return CareProvider.from_optional(await info.context.loader(CareProviderByIdLoader).load(pk))


async def _unit(info: Info, pk: uuid.UUID | None) -> CareUnitRef | None:
    from schema.organizations import CareUnit

    if pk is None:
        return None
    return CareUnit.from_optional(await info.context.loader(CareUnitByIdLoader).load(pk))


@strawberry.type(description="A research study with its ethics approval.")
class ResearchStudy(Node):
    name: str = strawberry.field(description="Name of the study.")
    ethics_approval_ref: str = strawberry.field(
        description="Diarienummer of the ethics approval (Etikprövningsmyndigheten)."
    )
    approved_on: date = strawberry.field(description="When the study was approved.")


@strawberry.type(
    description="Spärr: INNER hides a unit's records from the rest of its provider, OUTER hides "
    "a provider's records from other providers; optionally only records of a period."
)
class Block(Node):
    patient_id: strawberry.Private[uuid.UUID]
    care_provider_id: strawberry.Private[uuid.UUID]
    care_unit_id: strawberry.Private[uuid.UUID | None]
    kind: BlockKind = strawberry.field(description="Inner or outer block.")
    records_from: datetime | None = strawberry.field(description="Only records from this time.")
    records_to: datetime | None = strawberry.field(description="Only records until this time.")
    except_medication: bool = strawberry.field(description="Medication stays visible.")
    except_alerts: bool = strawberry.field(description="Alert information stays visible.")
    placed_at: datetime = strawberry.field(description="When the block was placed.")
    lifted_at: datetime | None = strawberry.field(description="When it was lifted, if it was.")

    PATIENT_SCOPED = True

    @field(description="Whether the block is in force (not lifted).")
    def active(self) -> bool:
        return self.lifted_at is None

    @field(description="The provider whose records are blocked.")
    async def care_provider(self, info: Info) -> CareProviderRef | None:
        return await _provider(info, self.care_provider_id)

    @field(description="The unit whose records are blocked (inner blocks).")
    async def care_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.care_unit_id)


@strawberry.type(
    description="Samtycke: consent for one provider, unit, practitioner or study; counts only "
    "while in date and not revoked."
)
class Consent(Node):
    patient_id: strawberry.Private[uuid.UUID]
    care_provider_id: strawberry.Private[uuid.UUID | None]
    care_unit_id: strawberry.Private[uuid.UUID | None]
    practitioner_id: strawberry.Private[uuid.UUID | None]
    research_study_id: strawberry.Private[uuid.UUID | None]
    block_id: strawberry.Private[uuid.UUID | None]
    kind: ConsentKind = strawberry.field(description="What the consent allows.")
    given_by: str = strawberry.field(
        description="Who gave it: patient, representative, clinician_recorded (a clinician "
        "registered a consent the patient gave them in person; see recordedByHsaId), "
        "lacks_capacity (A8) or integration (relayed by a system integration)."
    )
    recorded_by_hsa_id: str | None = strawberry.field(
        description="HSA-id of the clinician who recorded the consent (clinician_recorded, "
        "lacks_capacity); null when the patient or a representative gave it themself.",
    )
    valid_from: datetime = strawberry.field(description="When the consent starts.")
    valid_to: datetime | None = strawberry.field(description="When it ends; open if null.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")

    PATIENT_SCOPED = True

    @field(description="Whether the consent counts now: started, not ended, not revoked.")
    def active(self) -> bool:
        now = datetime.now(UTC)
        ended = self.valid_to is not None and self.valid_to <= now
        return self.revoked_at is None and self.valid_from <= now and not ended

    @field(description="The provider the consent is for, if any.")
    async def care_provider(self, info: Info) -> CareProviderRef | None:
        return await _provider(info, self.care_provider_id)

    @field(description="The unit the consent is for, if any.")
    async def care_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.care_unit_id)

    @field(description="The practitioner the consent is for, if any.")
    async def practitioner(self, info: Info) -> PractitionerRef | None:
        from schema.organizations import Practitioner

        if self.practitioner_id is None:
            return None
        row = await info.context.loader(PractitionerByIdLoader).load(self.practitioner_id)
        return Practitioner.from_optional(row)

    @field(description="The research study the consent is for, if any.")
    async def research_study(self, info: Info) -> ResearchStudy | None:
        if self.research_study_id is None:
            return None
        row = await info.context.loader(ResearchStudyByIdLoader).load(self.research_study_id)
        return ResearchStudy.from_optional(row)

    @field(description="The block a block_lift consent lifts.")
    async def block(self, info: Info) -> Block | None:
        if self.block_id is None:
            return None
        row = await info.context.loader(BlockByIdLoader).load((self.patient_id, self.block_id))
        return Block.from_optional(row)


@strawberry.type(
    description="An exception to the patient app's age rules (A10) for one unit's records, "
    "granted by the head of the unit: the child reads their own record from 13, guardians keep "
    "reading from 13, or guardians stop reading a child under 13. Counts only while in date, "
    "not revoked and the patient is of the ages its kind is about. Items not approved for the "
    "patient stay hidden whatever it says."
)
class PortalException(Node):
    patient_id: strawberry.Private[uuid.UUID]
    care_provider_id: strawberry.Private[uuid.UUID]
    care_unit_id: strawberry.Private[uuid.UUID]
    kind: PortalExceptionKind = strawberry.field(description="What the exception does.")
    granted_by_hsa_id: str = strawberry.field(
        description="HSA-id of the head of the unit who granted it."
    )
    reason: str = strawberry.field(description="Why it was granted.")
    valid_from: datetime = strawberry.field(description="When it starts.")
    valid_to: datetime | None = strawberry.field(description="When it ends; open if null.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")
    revoked_by_hsa_id: str | None = strawberry.field(
        description="HSA-id of the head of the unit who revoked it."
    )

    PATIENT_SCOPED = True

    @field(description="Whether it is in date and not revoked (the patient's age aside).")
    def active(self) -> bool:
        now = datetime.now(UTC)
        ended = self.valid_to is not None and self.valid_to <= now
        return self.revoked_at is None and self.valid_from <= now and not ended

    @field(description="The unit whose records it opens or closes.")
    async def care_unit(self, info: Info) -> CareUnitRef | None:
        return await _unit(info, self.care_unit_id)

    @field(description="The provider of that unit.")
    async def care_provider(self, info: Info) -> CareProviderRef | None:
        return await _provider(info, self.care_provider_id)
