"""The clinical record (NPÖ / 1177 Journalen categories, DOMAIN.md section 2)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from sqlalchemy import func

from app.safety import CRITICAL_ALERT_TYPES, CRITICAL_SEVERITIES, critical_alert
from resolvers.loaders.care import CareDocumentsByCareContactLoader, DiagnosesByCareContactLoader
from resolvers.planner.declare import Computed, Listed
from schema.connections import After, Connection, First, IncludeNullified, Info, list_of, paged
from schema.enums import (
    AlertType,
    Consciousness,
    ContactStatus,
    ContactType,
    DiagnosisType,
    LabInterpretation,
    News2Risk,
    Severity,
)
from schema.events import CareEvent
from schema.fields import field


@strawberry.type(
    description="Vårdkontakt: a visit, call or stay. `eventTime` is its start; an ongoing stay "
    "has no `periodEnd`."
)
class CareContact(CareEvent):
    contact_type: ContactType = strawberry.field(description="Kind of contact.")
    status: ContactStatus = strawberry.field(description="Status of the contact.")
    reason: str | None = strawberry.field(
        description="Reason for the contact, in the patient's words."
    )
    period_end: datetime | None = strawberry.field(
        description="End of the contact; null while ongoing."
    )

    @field(
        description="Diagnoses set at this contact, newest first.",
        plan=Listed(
            DiagnosesByCareContactLoader, ("patient_id", "id"), paged(DiagnosesByCareContactLoader)
        ),
    )
    async def diagnoses(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[Diagnosis]:
        return await list_of(
            info,
            DiagnosesByCareContactLoader,
            (self.patient_id, self.pk),
            Diagnosis.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )

    @field(
        description="Notes written for this contact, newest first.",
        plan=Listed(
            CareDocumentsByCareContactLoader,
            ("patient_id", "id"),
            paged(CareDocumentsByCareContactLoader),
        ),
    )
    async def documents(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_nullified: IncludeNullified = False,
    ) -> Connection[CareDocument]:
        return await list_of(
            info,
            CareDocumentsByCareContactLoader,
            (self.patient_id, self.pk),
            CareDocument.from_row,
            first=first,
            after=after,
            include_nullified=include_nullified,
        )


@strawberry.type(
    description="Journalanteckning: a note. `legalAuthenticator` says who signed it, "
    "`accountable` who is responsible for it."
)
class CareDocument(CareEvent):
    document_type: str = strawberry.field(description="Kind of note (e.g. inskrivning, epikris).")
    title: str = strawberry.field(description="Title of the note.")
    text: str = strawberry.field(description="Text of the note.")


@strawberry.type(description="A diagnosis coded in ICD-10-SE, main or secondary.")
class Diagnosis(CareEvent):
    code: str = strawberry.field(description="ICD-10-SE code, e.g. J45.9.")
    display: str = strawberry.field(description="Text of the code.")
    diagnosis_type: DiagnosisType = strawberry.field(description="Main or secondary diagnosis.")


@strawberry.type(
    description="Uppmärksamhetsinformation: what every carer must know (hypersensitivities, "
    "serious diseases, treatments, communicable diseases, restrictions of care)."
)
class Alert(CareEvent):
    alert_type: AlertType = strawberry.field(description="Kind of alert.")
    description: str = strawberry.field(description="The alert in words.")
    valid_from: date | None = strawberry.field(description="First day the alert applies.")
    valid_to: date | None = strawberry.field(
        description="Last day the alert applies; open if null."
    )
    agent_npl_id: str | None = strawberry.field(
        description="Hypersensitivity: the drug's NPL-id (14 digits)."
    )
    agent_atc_code: str | None = strawberry.field(
        description="Hypersensitivity: the drug's ATC code."
    )
    agent_text: str | None = strawberry.field(
        description="Hypersensitivity: the agent in words (drug or other agent)."
    )
    severity: Severity | None = strawberry.field(description="Hypersensitivity: how severe.")
    condition_code: str | None = strawberry.field(
        description="Serious or communicable disease: ICD-10-SE code."
    )
    treatment_code: str | None = strawberry.field(description="Treatment: KVÅ code.")

    @field(
        description="Critical: to see first in an emergency (a severe or life-threatening "
        "hypersensitivity, a restriction of care, a communicable disease; app/safety.py).",
        plan=Computed(
            lambda row, _: (
                row.c.alert_type.in_(sorted(CRITICAL_ALERT_TYPES))
                | func.coalesce(row.c.severity, "").in_(sorted(CRITICAL_SEVERITIES))
            )
        ),
    )
    def critical(self) -> bool:
        # Rows carry the stored values (schema/rows.py), which the enums map by value.
        return critical_alert(_stored(self.alert_type) or "", _stored(self.severity))


def _stored(value: object) -> str | None:
    """The stored value of an enum field: the row's string, or an enum member's value."""
    if value is None:
        return None
    raw = getattr(value, "value", value)
    return str(getattr(raw, "value", raw))


@strawberry.type(description="Funktionstillstånd: a PADL assessment or a disability (ICF coded).")
class FunctionalStatus(CareEvent):
    assessment_type: str = strawberry.field(
        description="padl (personal activities of daily living) or funktionsnedsattning."
    )
    icf_code: str | None = strawberry.field(description="ICF code of the disability.")
    text: str = strawberry.field(description="The assessment in words.")


@strawberry.type(description="One analysis of a laboratory order, coded in NPU or LOINC.")
class LabResult(CareEvent):
    order_id: str = strawberry.field(description="Id of the laboratory order (remiss).")
    code_system: str = strawberry.field(description="NPU or LOINC.")
    code: str = strawberry.field(description="Code of the analysis in `codeSystem`.")
    name: str = strawberry.field(description="Name of the analysis.")
    value_numeric: Decimal | None = strawberry.field(description="Numeric result, if numeric.")
    value_text: str | None = strawberry.field(description="Result in words, if not numeric.")
    unit: str | None = strawberry.field(description="Unit of the numeric result.")
    interpretation: LabInterpretation | None = strawberry.field(
        description="How the result compares with the reference interval."
    )
    reference_low: Decimal | None = strawberry.field(description="Lower reference limit.")
    reference_high: Decimal | None = strawberry.field(description="Upper reference limit.")
    specimen: str | None = strawberry.field(description="Specimen, e.g. blood, urine.")


@strawberry.type(description="Remissvar: a preliminary or final answer to a referral.")
class ReferralOutcome(CareEvent):
    outcome_type: str = strawberry.field(description="slutsvar (final) or svar (preliminary).")
    text: str = strawberry.field(description="The answer.")
    referral_id: str = strawberry.field(description="Id of the referral answered.")
    referral_reason: str | None = strawberry.field(description="Why the referral was sent.")
    referral_author: str | None = strawberry.field(description="Who wrote the referral.")


@strawberry.type(description="An administered vaccine dose.")
class Vaccination(CareEvent):
    vaccine_name: str = strawberry.field(description="Name of the vaccine.")
    vaccine_npl_id: str | None = strawberry.field(description="NPL-id of the vaccine product.")
    atc_code: str | None = strawberry.field(description="ATC code of the vaccine.")
    target_disease: str = strawberry.field(description="Disease the vaccine protects against.")
    dose_number: int = strawberry.field(description="Number of this dose in its series.")
    batch: str | None = strawberry.field(description="Batch number.")
    performer_name: str | None = strawberry.field(description="Who gave the dose.")


@strawberry.type(
    description="One complete set of NEWS2 observations (vitalparametrar) with the NEWS2 score "
    "computed when it was recorded (docs/vital-signs.md)."
)
class VitalSigns(CareEvent):
    respiration_rate: int = strawberry.field(description="Respiration rate, breaths per minute.")
    spo2: int = strawberry.field(description="Oxygen saturation (SpO2), per cent.")
    hypercapnic_scale: bool = strawberry.field(
        description="SpO2 scored on NEWS2 scale 2 (hypercapnic respiratory failure, target "
        "88-92 %)."
    )
    supplemental_oxygen: bool = strawberry.field(
        description="The patient was breathing supplemental oxygen (not room air)."
    )
    systolic_bp: int = strawberry.field(description="Systolic blood pressure, mmHg.")
    diastolic_bp: int | None = strawberry.field(
        description="Diastolic blood pressure, mmHg (not scored)."
    )
    pulse: int = strawberry.field(description="Pulse, beats per minute.")
    consciousness: Consciousness = strawberry.field(description="Consciousness (ACVPU).")
    temperature: Decimal = strawberry.field(description="Temperature, degrees Celsius.")
    news2_score: int = strawberry.field(description="The aggregate NEWS2 score, 0-20.")
    news2_risk: News2Risk = strawberry.field(description="The clinical risk the score implies.")
