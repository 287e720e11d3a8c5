"""The root Mutation type: every write of the public schema, one field per mutation.

Each mutation is one all-or-nothing step of the request transaction, takes one `input`, and
returns a payload with the written object and `userErrors` (expected refusals). Writes need a
signed-in clinician or system integration.
"""

from __future__ import annotations

import strawberry

from schema.fhir import FhirMutation
from schema.mutations import (
    administration,
    care,
    dental,
    medication,
    municipal,
    nullify,
    observations,
    patients,
    vital_signs,
)
from schema.mutations.discharge import DischargeMutation
from schema.mutations.referrals import ReferralMutation
from schema.mutations.relationships import BasisMutation
from schema.mutations.sip import SipMutation
from schema.privacy_mutations import PrivacyMutation
from schema.webhooks import WebhookMutation


@strawberry.type(
    description="Write to the care chain. Each mutation is all or nothing, is audited, and "
    "accepts an idempotency key so that a retry never writes twice."
)
class Mutation(
    PrivacyMutation,
    FhirMutation,
    BasisMutation,
    WebhookMutation,
    ReferralMutation,
    DischargeMutation,
    SipMutation,
):
    register_patient = strawberry.mutation(
        resolver=patients.register_patient,
        description="Register a person in care (by personnummer, samordningsnummer or "
        "reservnummer).",
    )
    record_care_contact = strawberry.mutation(
        resolver=care.record_care_contact,
        description="Record a care contact: a visit, call or stay.",
    )
    add_diagnosis = strawberry.mutation(
        resolver=care.add_diagnosis, description="Add an ICD-10-SE diagnosis."
    )
    write_care_document = strawberry.mutation(
        resolver=care.write_care_document,
        description="Write a note (journalanteckning), optionally signing it.",
    )
    add_alert = strawberry.mutation(
        resolver=observations.add_alert,
        description="Add alert information (uppmärksamhetsinformation).",
    )
    record_lab_result = strawberry.mutation(
        resolver=observations.record_lab_result,
        description="Record one analysis of a laboratory order.",
    )
    record_vaccination = strawberry.mutation(
        resolver=observations.record_vaccination, description="Record a vaccine dose given."
    )
    record_medication_administration = strawberry.mutation(
        resolver=administration.record_medication_administration,
        description="Sign a dose on a home-care signing list: given, not given (with the "
        "reason) or self-administered.",
    )
    record_vital_signs = strawberry.mutation(
        resolver=vital_signs.record_vital_signs,
        description="Record vital signs (NEWS2 observations); the NEWS2 score is computed.",
    )
    prescribe = strawberry.mutation(
        resolver=medication.prescribe,
        description="Issue a prescription, or replace an active one.",
    )
    dispense = strawberry.mutation(
        resolver=medication.dispense,
        description="Record a dispensation of a prescription at a pharmacy.",
    )
    discontinue_prescription = strawberry.mutation(
        resolver=medication.discontinue_prescription,
        description="Discontinue (sätta ut) an active prescription.",
    )
    record_dental_treatment = strawberry.mutation(
        resolver=dental.record_dental_treatment,
        description="Record a completed dental treatment.",
    )
    record_tooth_finding = strawberry.mutation(
        resolver=dental.record_tooth_finding,
        description="Record a finding on a tooth.",
    )
    record_municipal_decision = strawberry.mutation(
        resolver=municipal.record_municipal_decision,
        description="Record a SoL or LSS decision of a municipality.",
    )
    nullify = strawberry.mutation(
        resolver=nullify.nullify,
        description="Nullify (makulera) a clinical row recorded in error; it is kept, hidden.",
    )
