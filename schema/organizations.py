"""Who provides care: care providers, their units, practitioners, municipalities."""

from __future__ import annotations

import uuid

import strawberry

from resolvers.loaders.organizations import (
    CareContactsByUnitLoader,
    CareDocumentsByPractitionerLoader,
    CareProviderByIdLoader,
    CareUnitsByProviderLoader,
    MunicipalityByCodeLoader,
)
from resolvers.loaders.referrals import (
    DischargesToUnitLoader,
    OverdueDischargesToUnitLoader,
    ReferralsToUnitLoader,
)
from resolvers.planner.declare import Referenced
from resolvers.tables import CARE_PROVIDER, MUNICIPALITY
from schema.connections import After, Connection, First, IncludeNullified, Info, list_of
from schema.enums import ProviderKind, UnitKind
from schema.fields import field
from schema.node import Node
from schema.refs import CareContactRef, CareDocumentRef, DischargePlanRef, ReferralRef
from schema.rows import FromRow


@strawberry.type(description="A Swedish municipality (kommun), by its four-digit kommunkod.")
class Municipality(FromRow):
    code: str = strawberry.field(description="Kommunkod, four digits (e.g. 0180 Stockholm).")
    name: str = strawberry.field(description="Name of the municipality.")
    county_code: str = strawberry.field(description="Länskod, two digits.")


async def _municipality(info: Info, code: str | None) -> Municipality | None:
    if code is None:
        return None
    return Municipality.from_optional(
        await info.context.loader(MunicipalityByCodeLoader).load(code)
    )


@strawberry.type(
    description="Vårdgivare or omsorgsgivare: the legal entity responsible for care (a region, "
    "a municipality, a private company). The key of cross-provider blocks."
)
class CareProvider(Node):
    hsa_id: str = strawberry.field(description="HSA-id of the provider.")
    name: str = strawberry.field(description="Name of the provider.")
    organisation_number: str = strawberry.field(description="Organisationsnummer, 10 digits.")
    kind: ProviderKind = strawberry.field(description="Who runs it (huvudman).")
    public: bool = strawberry.field(
        description="Public providers name the person in the patient's log extract."
    )
    municipality_code: strawberry.Private[str | None]

    @field(
        description="The municipality, for municipal providers.",
        plan=Referenced(MUNICIPALITY, "municipality_code", key="code"),
    )
    async def municipality(self, info: Info) -> Municipality | None:
        return await _municipality(info, self.municipality_code)

    @field(description="The provider's care units, by name.")
    async def care_units(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[CareUnit]:
        return await list_of(
            info, CareUnitsByProviderLoader, (self.pk,), CareUnit.from_row, first=first, after=after
        )


@strawberry.type(
    description="Vårdenhet: a unit of a care provider (a clinic, ward, pharmacy, home-care "
    "group). Inner secrecy and inner blocks follow units."
)
class CareUnit(Node):
    hsa_id: str = strawberry.field(description="HSA-id of the unit.")
    name: str = strawberry.field(description="Name of the unit.")
    kind: UnitKind = strawberry.field(description="What the unit does.")
    gln: str | None = strawberry.field(description="Global Location Number (pharmacies).")
    care_provider_id: strawberry.Private[uuid.UUID]
    municipality_code: strawberry.Private[str | None]

    @field(
        description="The care provider the unit belongs to.",
        plan=Referenced(CARE_PROVIDER, "care_provider_id"),
    )
    async def care_provider(self, info: Info) -> CareProvider:
        row = await info.context.loader(CareProviderByIdLoader).load(self.care_provider_id)
        assert row is not None  # a foreign key
        return CareProvider.from_row(row)

    @field(
        description="The municipality the unit is in, if recorded.",
        plan=Referenced(MUNICIPALITY, "municipality_code", key="code"),
    )
    async def municipality(self, info: Info) -> Municipality | None:
        return await _municipality(info, self.municipality_code)

    @field(
        description="Care contacts at this unit, of all patients, newest first: only those the "
        "caller may see (each patient's rows pass the access policy)."
    )
    async def care_contacts(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[CareContactRef]:
        from schema.care import CareContact

        return await list_of(
            info,
            CareContactsByUnitLoader,
            (self.pk,),
            CareContact.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )

    @field(
        description="Referrals sent to this unit, of all patients, newest first: only those the "
        "caller may see (the unit's staff see what was sent to it)."
    )
    async def incoming_referrals(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[ReferralRef]:
        from schema.referrals import Referral

        return await list_of(
            info,
            ReferralsToUnitLoader,
            (self.pk,),
            Referral.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )

    @field(
        description="Patients in hospital whose discharge plan (inskrivningsmeddelande) was "
        "sent to this municipal unit, newest admission first: those not yet discharged."
    )
    async def incoming_discharges(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[DischargePlanRef]:
        from schema.referrals import DischargePlan

        return await list_of(
            info,
            DischargesToUnitLoader,
            (self.pk,),
            DischargePlan.from_row,
            first=first,
            after=after,
        )

    @field(
        description="Of those, the patients utskrivningsklar for longer than the agreed days "
        "and still in hospital: the municipality pays for each further day."
    )
    async def overdue_discharges(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[DischargePlanRef]:
        from schema.referrals import DischargePlan

        return await list_of(
            info,
            OverdueDischargesToUnitLoader,
            (self.pk,),
            DischargePlan.from_row,
            first=first,
            after=after,
        )


@strawberry.type(description="A person who works in care, identified by HSA-id.")
class Practitioner(Node):
    hsa_id: str = strawberry.field(description="HSA-id of the person.")
    given_name: str = strawberry.field(description="Given name.")
    family_name: str = strawberry.field(description="Family name.")
    profession: str = strawberry.field(description="Profession, e.g. läkare, sjuksköterska.")

    @field(
        description="Notes this practitioner is accountable for, of all patients, newest first: "
        "only those the caller may see."
    )
    async def documents(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[CareDocumentRef]:
        from schema.care import CareDocument

        return await list_of(
            info,
            CareDocumentsByPractitionerLoader,
            (self.pk,),
            CareDocument.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )
