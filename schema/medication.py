"""Prescriptions and dispensations (Nationella läkemedelslistan, DOMAIN.md section 3)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry

from resolvers.loaders.dispensed import sql_remaining
from resolvers.loaders.medication import (
    DispensationByIdLoader,
    DispensationsByPrescriptionLoader,
    MedicationAdministrationsByPrescriptionLoader,
    PrescriptionByIdLoader,
    PrescriptionsByChainLoader,
)
from resolvers.loaders.organizations import CareUnitByIdLoader
from resolvers.planner.declare import Computed, Listed, Owned, Referenced
from resolvers.tables import CARE_UNIT
from schema.connections import After, Connection, First, IncludeNullified, Info, list_of, paged
from schema.enums import AdministrationOutcome, PrescriptionKind, PrescriptionStatus
from schema.events import CareEvent
from schema.fields import field
from schema.refs import CareUnitRef


@strawberry.type(
    description="A prescription in NLL. The accountable professional is the prescriber; "
    "`eventTime` is the issue time. Renewed, replaced and parallel prescriptions share a chain."
)
class Prescription(CareEvent):
    kind: PrescriptionKind = strawberry.field(description="Recept, livsmedelsanvisning, ...")
    status: PrescriptionStatus = strawberry.field(description="Status of the prescription.")
    chain_id: uuid.UUID = strawberry.field(
        description="Id of the chain of renewed, replaced and parallel prescriptions."
    )
    replaces_id: strawberry.Private[uuid.UUID | None]
    drug_npl_id: str = strawberry.field(description="NPL-id of the drug (14 digits).")
    npl_pack_id: str | None = strawberry.field(description="NPL pack-id of the package.")
    atc_code: str = strawberry.field(description="ATC code of the drug.")
    drug_name: str = strawberry.field(description="Name of the drug.")
    strength: str | None = strawberry.field(description="Strength, e.g. 500 mg.")
    form: str | None = strawberry.field(description="Form, e.g. tablett.")
    dosage_text: str = strawberry.field(description="Dosage as written (doseringsanvisning).")
    dose_quantity: Decimal | None = strawberry.field(description="Structured dose: quantity.")
    dose_unit: str | None = strawberry.field(description="Structured dose: unit.")
    doses_per_day: Decimal | None = strawberry.field(description="Structured dose: per day.")
    amount: Decimal = strawberry.field(description="Packages per dispensation.")
    dispensations_allowed: int = strawberry.field(description="Number of dispensations allowed.")
    dispensation_interval_days: int | None = strawberry.field(
        description="Minimum days between dispensations."
    )
    non_replaceable: bool = strawberry.field(
        description="Ej utbytbar: the pharmacy may not substitute a generic."
    )
    valid_until: date = strawberry.field(description="Last valid date (sista giltighetsdag).")
    reason: str | None = strawberry.field(description="Ordinationsorsak: why it is prescribed.")
    discontinued_reason: str | None = strawberry.field(
        description="Why it was discontinued (utsatt), if it was."
    )

    @field(
        description="The prescription this one replaces, if any.",
        plan=Owned(PrescriptionByIdLoader, "replaces_id"),
    )
    async def replaces(self, info: Info) -> Prescription | None:
        if self.replaces_id is None:
            return None
        row = await info.context.loader(PrescriptionByIdLoader).load(
            (self.patient_id, self.replaces_id)
        )
        return Prescription.from_optional(row)

    @field(
        description="All prescriptions of this one's chain (itself included), newest first.",
        plan=Listed(
            PrescriptionsByChainLoader,
            ("patient_id", "chain_id"),
            paged(PrescriptionsByChainLoader),
        ),
    )
    async def chain(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[Prescription]:
        return await list_of(
            info,
            PrescriptionsByChainLoader,
            (self.patient_id, self.chain_id),
            Prescription.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )

    @field(
        description="Dispensations still allowed: dispensationsAllowed less those made "
        "(reversals give one back), counted over the dispensations you may see; never below 0.",
        plan=Computed(sql_remaining),
    )
    async def remaining_dispensations(self, info: Info) -> int:
        return await _remaining(self, info)

    @field(
        description="Packages still to dispense: remainingDispensations times `amount`.",
        plan=Computed(lambda row, decision: row.c.amount * sql_remaining(row, decision)),
    )
    async def remaining_amount(self, info: Info) -> Decimal:
        return self.amount * await _remaining(self, info)

    @field(
        description="Dispensations (uttag) on this prescription, newest first.",
        plan=Listed(
            DispensationsByPrescriptionLoader,
            ("patient_id", "id"),
            paged(DispensationsByPrescriptionLoader),
        ),
    )
    async def dispensations(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[Dispensation]:
        return await list_of(
            info,
            DispensationsByPrescriptionLoader,
            (self.patient_id, self.pk),
            Dispensation.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )

    @field(
        description="Signatures on home-care signing lists for this prescription (given, not "
        "given, self-administered), newest first.",
        plan=Listed(
            MedicationAdministrationsByPrescriptionLoader,
            ("patient_id", "id"),
            paged(MedicationAdministrationsByPrescriptionLoader),
        ),
    )
    async def administrations(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[MedicationAdministration]:
        return await list_of(
            info,
            MedicationAdministrationsByPrescriptionLoader,
            (self.patient_id, self.pk),
            MedicationAdministration.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )


async def _remaining(rx: Prescription, info: Info) -> int:
    from resolvers.loaders.dispensed import DispensedCountByPrescriptionLoader

    loader = info.context.loader(DispensedCountByPrescriptionLoader)
    used = await loader.load((rx.patient_id, rx.pk))
    return max(0, rx.dispensations_allowed - used)


@strawberry.type(
    description="Uttag/expediering: a dispensation at a pharmacy (the care unit). A reversal is "
    "a new dispensation pointing at the one it reverses."
)
class Dispensation(CareEvent):
    prescription_id: strawberry.Private[uuid.UUID]
    reverses_id: strawberry.Private[uuid.UUID | None]
    amount: Decimal = strawberry.field(description="Packages dispensed.")
    article_npl_pack_id: str | None = strawberry.field(
        description="NPL pack-id of the article handed out."
    )
    article_name: str = strawberry.field(description="Name of the article handed out.")

    @field(
        description="The prescription dispensed.",
        plan=Owned(PrescriptionByIdLoader, "prescription_id"),
    )
    async def prescription(self, info: Info) -> Prescription | None:
        row = await info.context.loader(PrescriptionByIdLoader).load(
            (self.patient_id, self.prescription_id)
        )
        return Prescription.from_optional(row)

    @field(
        description="The dispensation this one reverses, if it is a reversal.",
        plan=Owned(DispensationByIdLoader, "reverses_id"),
    )
    async def reverses(self, info: Info) -> Dispensation | None:
        if self.reverses_id is None:
            return None
        row = await info.context.loader(DispensationByIdLoader).load(
            (self.patient_id, self.reverses_id)
        )
        return Dispensation.from_optional(row)

    @field(
        description="The pharmacy: the care unit that dispensed.",
        plan=Referenced(CARE_UNIT, "care_unit_id"),
    )
    async def pharmacy(self, info: Info) -> CareUnitRef:
        from schema.organizations import CareUnit

        row = await info.context.loader(CareUnitByIdLoader).load(self.care_unit_id)
        assert row is not None  # a foreign key
        return CareUnit.from_row(row)


@strawberry.type(
    description="One signature on a signing list (signeringslista) in municipal home care: a "
    "dose of a prescription given, not given (with the reason) or self-administered. The "
    "accountable professional signed it; `eventTime` is when it was given (or due, if not "
    "given). docs/sip-and-medication-administration.md."
)
class MedicationAdministration(CareEvent):
    prescription_id: strawberry.Private[uuid.UUID]
    outcome: AdministrationOutcome = strawberry.field(description="Given, not given or self.")
    planned_at: datetime | None = strawberry.field(
        description="The time of the dose on the signing list, if it was a planned dose."
    )
    dose_text: str | None = strawberry.field(description="The dose given, e.g. 2 tabletter.")
    not_given_reason: str | None = strawberry.field(
        description="Why the dose was not given (NOT_GIVEN only)."
    )

    @field(
        description="The prescription the dose belongs to (null if you may not see it).",
        plan=Owned(PrescriptionByIdLoader, "prescription_id"),
    )
    async def prescription(self, info: Info) -> Prescription | None:
        row = await info.context.loader(PrescriptionByIdLoader).load(
            (self.patient_id, self.prescription_id)
        )
        return Prescription.from_optional(row)
