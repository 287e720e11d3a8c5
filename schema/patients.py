"""The patient: demographics, representatives, and every category of their record."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import strawberry
from sqlalchemy import false, true

from app.context import Context
from app.safety import BLOOD_GROUP_CODES
from resolvers.filters import PageArgs, RowFilter
from resolvers.loaders import care, consent, dental, medication, municipal
from resolvers.loaders import referrals as referral_loaders
from resolvers.loaders.base import RowByKeyLoader
from resolvers.loaders.events import TIMELINE_SORT
from resolvers.loaders.patients import RepresentativesByPatientLoader, RepresentedByPatientLoader
from resolvers.loaders.relationships import CareRelationshipsByPatientLoader
from resolvers.loaders.sip import SipPlansByPatientLoader
from resolvers.planner.declare import Decided, Embedded, FirstOf, Interleaved, Listed
from resolvers.tables import CLINICAL
from schema.connections import (
    After,
    ChangedSince,
    Connection,
    First,
    IncludeNullified,
    Info,
    list_of,
    page_of,
    paged,
    since_filter,
)
from schema.enums import IdentifierKind, RepresentativeKind, Sex
from schema.events import (
    CareEvent,
    EventFilter,
    Kinds,
    clinical_list,
    event_page,
    timeline_args,
)
from schema.events import timeline as load_timeline
from schema.fields import field
from schema.inputs import CareContactFilter, PrescriptionFilter, row_filter
from schema.node import Node
from schema.refs import (
    AlertRef,
    BlockRef,
    CareContactRef,
    CareDocumentRef,
    CareRelationshipRef,
    ConsentRef,
    DentalTreatmentRef,
    DiagnosisRef,
    DischargePlanRef,
    DispensationRef,
    FunctionalStatusRef,
    ImplementationPlanRef,
    LabResultRef,
    MedicationAdministrationRef,
    MunicipalDecisionRef,
    PortalExceptionRef,
    PrescriptionRef,
    ReferralOutcomeRef,
    ReferralRef,
    SipPlanRef,
    ToothFindingRef,
    VaccinationRef,
    VitalSignsRef,
)
from schema.representatives import Representative
from schema.withheld import WithheldInfo


@strawberry.type(description="A postal address.")
class Address:
    street_address: str | None = strawberry.field(description="Street and number.")
    postal_code: str | None = strawberry.field(description="Postnummer, five digits.")
    city: str | None = strawberry.field(description="Postort.")


async def _withheld(ctx: Context, patient_id: uuid.UUID) -> list[WithheldInfo]:
    from resolvers.withheld import withheld_for

    return [WithheldInfo.of(item) for item in await withheld_for(ctx, patient_id)]


def _representatives_page(
    kinds: list[RepresentativeKind] | None = None, first: int | None = 20, after: str | None = None
) -> PageArgs:
    """Patient.representatives' page arguments (its resolver's and the planner's)."""
    wanted = frozenset(str(k.value) for k in kinds or ())
    return RepresentativesByPatientLoader.listing.args(
        first=first,
        after=after,
        filter=RowFilter(values=(("kind", wanted),)) if wanted else None,
    )


def _event_loaders() -> dict[str, type[RowByKeyLoader]]:
    """Each kind of care event's RowByKeyLoader (the timeline's nodes)."""
    from schema.registry import EVENT_TYPES

    return {kind: loader for kind, (_, loader) in EVENT_TYPES.items()}


# The lab results that are blood groups (app/safety.py).
BLOOD_GROUP = RowFilter(values=(("code", BLOOD_GROUP_CODES),))

ContactFilterArg = Annotated[
    CareContactFilter | None,
    strawberry.argument(
        description="Only contacts matching this filter (period, provider, unit, type, status)."
    ),
]
RepresentativeKinds = Annotated[
    list[RepresentativeKind] | None,
    strawberry.argument(description="Only representatives of these kinds; null or empty: all."),
]
PrescriptionFilterArg = Annotated[
    PrescriptionFilter | None,
    strawberry.argument(description="Only prescriptions matching this filter (e.g. status)."),
]


@strawberry.type(
    description="A person in care, and their whole record across care providers. Every list "
    "holds only what the caller may see under the access policy."
)
class Patient(Node):
    personnummer: str = strawberry.field(
        description="Personnummer or samordningsnummer, 12 digits (YYYYMMDDNNNC); a "
        "reservnummer as issued.",
    )
    identifier_kind: IdentifierKind = strawberry.field(description="Kind of `personnummer`.")
    given_name: str = strawberry.field(description="Given name(s).")
    family_name: str = strawberry.field(description="Family name.")
    birth_date: date = strawberry.field(description="Date of birth.")
    sex: Sex = strawberry.field(description="Sex as recorded.")
    protected_identity: bool = strawberry.field(
        description="Skyddad identitet (sekretessmarkering): the address is never disclosed."
    )
    deceased_on: date | None = strawberry.field(description="Date of death, if deceased.")
    municipality_code: str | None = strawberry.field(
        description="Kommunkod of the municipality the patient lives in."
    )
    street_address: strawberry.Private[str | None]
    postal_code: strawberry.Private[str | None]
    city: strawberry.Private[str | None]

    @field(
        description="Postal address; always null for a protected identity (A16).",
        plan=Embedded(
            {},
            lambda row, decision: (
                row.c.street_address.isnot(None)
                & row.c.protected_identity.is_(False)
                & (true() if decision.may_see_address else false())
            ),
        ),
    )
    def address(self) -> Address | None:
        if self.protected_identity or self.street_address is None:
            return None
        return Address(
            street_address=self.street_address, postal_code=self.postal_code, city=self.city
        )

    @field(
        description="What the access policy withholds from you in this record, why, and what "
        "would open it (never which provider or what, A7). An empty list below this is only "
        '"none" when no entry here covers its category.',
        plan=Decided(_withheld),
    )
    async def withheld(self, info: Info) -> list[WithheldInfo]:
        return await _withheld(info.context, self.pk)

    @field(
        description="Blood group (AB0 and RhD): the newest laboratory observation of it (LOINC "
        "882-1, app/safety.py), null if none you may see.",
        plan=FirstOf(
            Listed(
                care.LabResultsByPatientLoader,
                ("id",),
                lambda: care.LabResultsByPatientLoader.listing.args(
                    first=1, after=None, filter=BLOOD_GROUP
                ),
            )
        ),
    )
    async def blood_group(self, info: Info) -> LabResultRef | None:
        from schema.care import LabResult

        page: Connection[LabResultRef] = await list_of(
            info,
            care.LabResultsByPatientLoader,
            (self.pk,),
            LabResult.from_row,
            first=1,
            after=None,
            filter=BLOOD_GROUP,
        )
        return page.nodes[0] if page.nodes else None

    @field(
        description="Care contacts (vårdkontakter), newest first.",
        plan=Listed(
            care.CareContactsByPatientLoader, ("id",), event_page(care.CareContactsByPatientLoader)
        ),
    )
    async def care_contacts(
        self,
        info: Info,
        filter: ContactFilterArg = None,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
        changed_since: ChangedSince = None,
    ) -> Connection[CareContactRef]:
        from schema.care import CareContact

        return await list_of(
            info,
            care.CareContactsByPatientLoader,
            (self.pk,),
            CareContact.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
            filter=since_filter(row_filter(filter), changed_since),
        )

    @field(
        description="Prescriptions, newest first; each with its chain and dispensations.",
        plan=Listed(
            medication.PrescriptionsByPatientLoader,
            ("id",),
            event_page(medication.PrescriptionsByPatientLoader),
        ),
    )
    async def prescriptions(
        self,
        info: Info,
        filter: PrescriptionFilterArg = None,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
        changed_since: ChangedSince = None,
    ) -> Connection[PrescriptionRef]:
        from schema.medication import Prescription

        return await list_of(
            info,
            medication.PrescriptionsByPatientLoader,
            (self.pk,),
            Prescription.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
            filter=since_filter(row_filter(filter), changed_since),
        )

    documents = clinical_list(
        care.CareDocumentsByPatientLoader, CareDocumentRef, "Notes, newest first."
    )
    diagnoses = clinical_list(
        care.DiagnosesByPatientLoader, DiagnosisRef, "Diagnoses, newest first."
    )
    alerts = clinical_list(care.AlertsByPatientLoader, AlertRef, "Alert information, newest first.")
    lab_results = clinical_list(
        care.LabResultsByPatientLoader, LabResultRef, "Laboratory results, newest first."
    )
    vaccinations = clinical_list(
        care.VaccinationsByPatientLoader, VaccinationRef, "Vaccinations, newest first."
    )
    vital_signs = clinical_list(
        care.VitalSignsByPatientLoader,
        VitalSignsRef,
        "Vital signs (NEWS2 observations), newest first.",
    )
    referrals = clinical_list(
        referral_loaders.ReferralsByPatientLoader,
        ReferralRef,
        "Referrals (remisser) the caller may see, newest first: those its provider sent or "
        "received, and others' as the record is shared.",
    )
    discharge_plans = clinical_list(
        referral_loaders.DischargePlansByPatientLoader,
        DischargePlanRef,
        "Coordinated discharges from hospital (lag 2017:612), newest admission first.",
    )
    functional_statuses = clinical_list(
        care.FunctionalStatusesByPatientLoader,
        FunctionalStatusRef,
        "Functional status assessments, newest first.",
    )
    referral_outcomes = clinical_list(
        care.ReferralOutcomesByPatientLoader,
        ReferralOutcomeRef,
        "Referral outcomes (remissvar), newest first.",
    )
    dispensations = clinical_list(
        medication.DispensationsByPatientLoader,
        DispensationRef,
        "Dispensations of all prescriptions, newest first.",
    )
    sip_plans = clinical_list(
        SipPlansByPatientLoader,
        SipPlanRef,
        "SIPs (samordnade individuella planer) the region and the municipality share, newest "
        "first: staff of every participating provider read them; the patient those approved.",
    )
    medication_administrations = clinical_list(
        medication.MedicationAdministrationsByPatientLoader,
        MedicationAdministrationRef,
        "Signatures on home-care signing lists (given, not given, self-administered), newest "
        "first: a nurse sees those she signed and, with NLL consent, all; a prescriber those "
        "of their own prescriptions (A11).",
    )
    dental_treatments = clinical_list(
        dental.DentalTreatmentsByPatientLoader,
        DentalTreatmentRef,
        "Completed dental treatments, newest first.",
    )
    tooth_findings = clinical_list(
        dental.ToothFindingsByPatientLoader,
        ToothFindingRef,
        "All findings on teeth (history included), newest first.",
    )
    municipal_decisions = clinical_list(
        municipal.MunicipalDecisionsByPatientLoader,
        MunicipalDecisionRef,
        "Municipal decisions (SoL/LSS), newest first.",
    )
    implementation_plans = clinical_list(
        municipal.ImplementationPlansByPatientLoader,
        ImplementationPlanRef,
        "Implementation plans (genomförandeplaner), newest first.",
    )
    municipal_health_records = clinical_list(
        municipal.MunicipalHealthRecordsByPatientLoader,
        CareDocumentRef,
        "Notes of municipal health care (providers of kind KOMMUN or units of kind "
        "MUNICIPAL_HEALTH), newest first.",
    )

    @field(
        description="The current tooth chart: the newest finding per FDI tooth, in tooth order.",
        plan=Listed(
            dental.ToothChartByPatientLoader, ("id",), paged(dental.ToothChartByPatientLoader)
        ),
    )
    async def tooth_chart(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[ToothFindingRef]:
        from schema.dental import ToothFinding

        return await list_of(
            info,
            dental.ToothChartByPatientLoader,
            (self.pk,),
            ToothFinding.from_row,
            first=first,
            after=after,
        )

    @field(
        description="Consents (samtycken) the patient has given, newest first.",
        plan=Listed(
            consent.ConsentsByPatientLoader, ("id",), paged(consent.ConsentsByPatientLoader)
        ),
    )
    async def consents(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[ConsentRef]:
        from schema.consent import Consent

        return await list_of(
            info,
            consent.ConsentsByPatientLoader,
            (self.pk,),
            Consent.from_row,
            first=first,
            after=after,
        )

    @field(
        description="Care relationships (vårdrelationer) of units the caller may know about "
        "(a clinician: their provider's), newest first.",
        plan=Listed(
            CareRelationshipsByPatientLoader, ("id",), paged(CareRelationshipsByPatientLoader)
        ),
    )
    async def care_relationships(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[CareRelationshipRef]:
        from schema.relationships import CareRelationship

        return await list_of(
            info,
            CareRelationshipsByPatientLoader,
            (self.pk,),
            CareRelationship.from_row,
            first=first,
            after=after,
        )

    @field(
        description="Blocks (spärrar) the patient has placed, newest first.",
        plan=Listed(consent.BlocksByPatientLoader, ("id",), paged(consent.BlocksByPatientLoader)),
    )
    async def blocks(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[BlockRef]:
        from schema.consent import Block

        return await list_of(
            info,
            consent.BlocksByPatientLoader,
            (self.pk,),
            Block.from_row,
            first=first,
            after=after,
        )

    @field(
        description="Exceptions to the patient app's age rules (A10) granted by heads of units, "
        "newest first: a clinician sees their own unit's, the patient their own.",
        plan=Listed(
            consent.PortalExceptionsByPatientLoader,
            ("id",),
            paged(consent.PortalExceptionsByPatientLoader),
        ),
    )
    async def portal_exceptions(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[PortalExceptionRef]:
        from schema.consent import PortalException

        return await list_of(
            info,
            consent.PortalExceptionsByPatientLoader,
            (self.pk,),
            PortalException.from_row,
            first=first,
            after=after,
        )

    @field(
        description="Who may act for the patient, newest first; `kinds: [GUARDIAN]` gives the "
        "guardians (vårdnadshavare).",
        plan=Listed(RepresentativesByPatientLoader, ("id",), _representatives_page),
    )
    async def representatives(
        self,
        info: Info,
        kinds: RepresentativeKinds = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[Representative]:
        args = _representatives_page(kinds, first, after)
        loader = RepresentativesByPatientLoader
        return await page_of(info, loader, (self.pk,), Representative.from_row, args)

    @field(
        description="Whom the patient acts for (e.g. their children), newest first; only "
        "representations the caller may see.",
        plan=Listed(RepresentedByPatientLoader, ("id",), paged(RepresentedByPatientLoader)),
    )
    async def represents(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Representative]:
        return await list_of(
            info,
            RepresentedByPatientLoader,
            (self.pk,),
            Representative.from_row,
            first=first,
            after=after,
        )

    @field(
        description="Every care event of the patient, of all kinds, newest first (by "
        "`eventTime`), keyset-paginated.",
        plan=Interleaved(timeline_args, CLINICAL, TIMELINE_SORT, _event_loaders),
    )
    async def timeline(
        self,
        info: Info,
        kinds: Kinds = None,
        filter: EventFilter = None,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[CareEvent]:
        return await load_timeline(
            info,
            self.pk,
            kinds=kinds,
            filter=filter,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )


__all__ = ["Address", "Patient", "Representative"]
