"""GraphQL enums of the model's code lists. Each value's Python value is the stored value, so rows
serialize without conversion; a unit test keeps them equal to the StrEnums in app.models."""

from __future__ import annotations

from enum import Enum

import strawberry

V = strawberry.enum_value


@strawberry.enum(description="Kind of care contact (vårdkontakt), as in RIV-TA GetCareContacts.")
class ContactType(Enum):
    BESOK = V("besok", description="Besök: the patient visited the unit.")
    TELEFON = V("telefon", description="Telefonkontakt: a call with the patient.")
    VARDTILLFALLE = V("vardtillfalle", description="Vårdtillfälle: an inpatient stay.")
    DAGSJUKVARD = V("dagsjukvard", description="Dagsjukvård: day care without overnight stay.")
    ANNAN = V("annan", description="Annan: any other kind of contact.")


@strawberry.enum(description="Status of a care contact.")
class ContactStatus(Enum):
    EJ_PABORJAD = V("ej_paborjad", description="Ej påbörjad: planned, not started.")
    INSTALLD = V("installd", description="Inställd: cancelled before it started.")
    PAGAENDE = V("pagaende", description="Pågående: ongoing (an ongoing stay has no end).")
    AVBRUTEN = V("avbruten", description="Avbruten: interrupted before completion.")
    AVSLUTAD = V("avslutad", description="Avslutad: completed.")


@strawberry.enum(description="Whether a diagnosis is the main or a secondary one.")
class DiagnosisType(Enum):
    HUVUDDIAGNOS = V("huvuddiagnos", description="Huvuddiagnos: the main diagnosis.")
    BIDIAGNOS = V("bidiagnos", description="Bidiagnos: a secondary diagnosis.")


@strawberry.enum(description="Kind of alert information (uppmärksamhetsinformation).")
class AlertType(Enum):
    HYPERSENSITIVITY = V(
        "hypersensitivity", description="Överkänslighet: to a drug or another agent."
    )
    SERIOUS_DISEASE = V("serious_disease", description="Allvarlig sjukdom (ICD-10-SE coded).")
    TREATMENT = V("treatment", description="Behandling that matters for care (KVÅ coded).")
    COMMUNICABLE_DISEASE = V("communicable_disease", description="Smittsam sjukdom.")
    RESTRICTION_OF_CARE = V(
        "restriction_of_care", description="Vårdbegränsning, e.g. a decision not to resuscitate."
    )
    UNSTRUCTURED = V("unstructured", description="Ostrukturerad: free text only.")


@strawberry.enum(description="Severity of a hypersensitivity.")
class Severity(Enum):
    MILD = V("mild", description="Mild reaction.")
    MODERATE = V("moderate", description="Moderate reaction.")
    SEVERE = V("severe", description="Severe reaction.")
    LIFE_THREATENING = V("life_threatening", description="Life-threatening reaction.")


@strawberry.enum(description="How a laboratory result compares with its reference interval.")
class LabInterpretation(Enum):
    NORMAL = V("normal", description="Within the reference interval.")
    LOW = V("low", description="Below the reference interval.")
    HIGH = V("high", description="Above the reference interval.")
    CRITICAL = V("critical", description="Critical: needs immediate attention.")
    ABNORMAL = V("abnormal", description="Abnormal, without a direction (text results).")


@strawberry.enum(description="Level of consciousness on the ACVPU scale (NEWS2).")
class Consciousness(Enum):
    ALERT = V("alert", description="A: alert.")
    NEW_CONFUSION = V("new_confusion", description="C: new confusion.")
    VOICE = V("voice", description="V: responds to voice.")
    PAIN = V("pain", description="P: responds to pain.")
    UNRESPONSIVE = V("unresponsive", description="U: unresponsive.")


@strawberry.enum(description="The clinical risk a NEWS2 score implies (docs/vital-signs.md).")
class News2Risk(Enum):
    LOW = V("low", description="Aggregate 0-4, no parameter scoring 3.")
    LOW_MEDIUM = V(
        "low_medium", description="Aggregate 0-4 with one parameter scoring 3: urgent review."
    )
    MEDIUM = V("medium", description="Aggregate 5-6: urgent response.")
    HIGH = V("high", description="Aggregate 7 or more: emergency response.")


@strawberry.enum(description="Kind of prescription in Nationella läkemedelslistan.")
class PrescriptionKind(Enum):
    RECEPT = V("recept", description="Recept: a drug prescription.")
    LIVSMEDELSANVISNING = V("livsmedelsanvisning", description="Livsmedelsanvisning: food.")
    HJALPMEDELSKORT = V("hjalpmedelskort", description="Hjälpmedelskort: medical aids.")


@strawberry.enum(description="Status of a prescription.")
class PrescriptionStatus(Enum):
    AKTIV = V("aktiv", description="Aktiv: valid and dispensable.")
    UTSATT = V("utsatt", description="Utsatt: discontinued by a prescriber.")
    MAKULERAD = V("makulerad", description="Makulerad: cancelled as issued in error.")
    ERSATT = V("ersatt", description="Ersatt: replaced by another prescription of its chain.")
    UTGANGEN = V("utgangen", description="Utgången: past its last valid date.")


@strawberry.enum(description="What a signature on a signing list says about one dose.")
class AdministrationOutcome(Enum):
    GIVEN = V("given", description="Given (överlämnad/administrerad) by staff.")
    NOT_GIVEN = V("not_given", description="Not given; the signature says why.")
    SELF_ADMINISTERED = V(
        "self_administered", description="Taken by the patient themself (egenadministrering)."
    )


@strawberry.enum(description="Status of a SIP (samordnad individuell plan).")
class SipStatus(Enum):
    ACTIVE = V("active", description="In force: the participants work by it.")
    COMPLETED = V("completed", description="Completed: its goals are reached or it ended.")
    CANCELLED = V("cancelled", description="Cancelled, e.g. the patient withdrew consent.")


@strawberry.enum(description="Status of an action of a SIP.")
class SipActionStatus(Enum):
    PLANNED = V("planned", description="Planned.")
    DONE = V("done", description="Done.")
    CANCELLED = V("cancelled", description="Cancelled.")


@strawberry.enum(description="Outcome of a municipal decision (beslut).")
class DecisionOutcome(Enum):
    BEVILJAD = V("beviljad", description="Beviljad: granted.")
    AVSLAG = V("avslag", description="Avslag: refused.")
    DELVIS_BEVILJAD = V("delvis_beviljad", description="Delvis beviljad: partly granted.")


@strawberry.enum(description="The law a municipal insats is granted under.")
class Framework(Enum):
    SOL = V("sol", description="Socialtjänstlagen: social services (e.g. hemtjänst).")
    LSS = V("lss", description="LSS: support and service for people with disabilities.")


@strawberry.enum(description="Who runs a care provider (huvudman).")
class ProviderKind(Enum):
    REGION = V("region", description="A region (regional health care, Folktandvården).")
    KOMMUN = V("kommun", description="A municipality (home care, special housing, LSS).")
    PRIVAT = V("privat", description="A private provider.")
    STAT = V("stat", description="A state agency.")


@strawberry.enum(description="What a care unit does; pharmacies and dental clinics are units too.")
class UnitKind(Enum):
    PRIMARY_CARE = V("primary_care", description="Vårdcentral: primary care.")
    HOSPITAL = V("hospital", description="A hospital ward or clinic.")
    EMERGENCY = V("emergency", description="Akutmottagning: emergency department.")
    SPECIALIST = V("specialist", description="Specialist outpatient care.")
    DENTAL = V("dental", description="A dental clinic.")
    PHARMACY = V("pharmacy", description="A pharmacy (apotek).")
    HOME_CARE = V("home_care", description="Hemtjänst: municipal home care.")
    SPECIAL_HOUSING = V("special_housing", description="Särskilt boende: special housing.")
    LSS = V("lss", description="An LSS service unit.")
    MUNICIPAL_HEALTH = V(
        "municipal_health", description="Kommunal hälso- och sjukvård: municipal nurses."
    )


@strawberry.enum(description="Kind of a person's identifier.")
class IdentifierKind(Enum):
    PERSONNUMMER = V("personnummer", description="Personnummer (Skatteverket).")
    SAMORDNINGSNUMMER = V(
        "samordningsnummer", description="Samordningsnummer: day of birth plus 60."
    )
    RESERVNUMMER = V("reservnummer", description="Reservnummer: a regional stand-in number.")
    EXTERNAL = V(
        "external",
        description="Only identifiers of other systems (e.g. an imported MRN): `personnummer` "
        "holds the first one's value, as issued.",
    )


@strawberry.enum(description="Sex as recorded.")
class Sex(Enum):
    FEMALE = V("female", description="Female.")
    MALE = V("male", description="Male.")
    OTHER = V("other", description="Other.")
    UNKNOWN = V("unknown", description="Unknown.")


@strawberry.enum(description="On what grounds a representative acts for a patient.")
class RepresentativeKind(Enum):
    GUARDIAN = V("guardian", description="Vårdnadshavare: a guardian of a child.")
    POWER_OF_ATTORNEY = V("power_of_attorney", description="Fullmakt: power of attorney.")


@strawberry.enum(description="What a consent (samtycke) allows.")
class ConsentKind(Enum):
    SVOD_ACCESS = V("svod_access", description="Access to other providers' records (SVOD).")
    NLL_ACCESS = V("nll_access", description="Access to all prescriptions in NLL.")
    RESEARCH = V("research", description="Use of the record in a research study.")
    BLOCK_LIFT = V("block_lift", description="A temporary lifting of a block.")


@strawberry.enum(description="Kind of block (spärr).")
class BlockKind(Enum):
    INNER = V("inner", description="Inre spärr: hides a unit from the rest of its provider.")
    OUTER = V("outer", description="Yttre spärr: hides a provider from other providers.")


@strawberry.enum(
    description="What an exception to the patient app's age rules (A10) does at its unit."
)
class PortalExceptionKind(Enum):
    PATIENT = V(
        "patient", description="The child reads their own record at 13-15 (by default from 16)."
    )
    GUARDIAN = V(
        "guardian",
        description="Guardians keep reading the child's record at 13-17 (by default to 12).",
    )
    DENY_GUARDIAN = V(
        "deny_guardian", description="Guardians no longer read the record of a child of 0-12."
    )


@strawberry.enum(description="Where a referral (remiss) stands.")
class ReferralStatus(Enum):
    SENT = V("sent", description="Sent; the recipient has not yet accepted or rejected it.")
    ACCEPTED = V("accepted", description="Accepted by the recipient; not yet finally answered.")
    REJECTED = V("rejected", description="Rejected by the recipient (statusReason says why).")
    ANSWERED = V("answered", description="Finally answered (slutsvar).")
    CANCELLED = V("cancelled", description="Withdrawn by the sender (statusReason says why).")


@strawberry.enum(description="How soon a referral should be seen to.")
class ReferralPriority(Enum):
    ROUTINE = V("routine", description="Routine (planerad).")
    URGENT = V("urgent", description="Urgent (akut, brådskande).")


@strawberry.enum(
    description="Where a coordinated discharge (lag 2017:612) stands, from the hospital's "
    "inskrivningsmeddelande to the discharge."
)
class DischargeStatus(Enum):
    ENROLLED = V(
        "enrolled",
        description="Inskrivningsmeddelande sent: the patient is admitted and expected to need "
        "municipal care or primary care after discharge.",
    )
    READY = V(
        "ready",
        description="Utskrivningsklar: the hospital considers the patient ready for discharge "
        "(the day counter runs).",
    )
    DISCHARGED = V("discharged", description="The patient has left the hospital.")
    CANCELLED = V(
        "cancelled", description="No longer expected to need the addressees' care after all."
    )


@strawberry.enum(description="What gave a unit a care relationship for one purpose.")
class RelationshipOrigin(Enum):
    REFERRAL = V("referral", description="A referral sent to the unit.")
    DISCHARGE_PLAN = V(
        "discharge_plan", description="A discharge plan (inskrivningsmeddelande) sent to the unit."
    )


@strawberry.enum(description="Kinds of care events, for filtering the timeline.")
class CareEventKind(Enum):
    CARE_CONTACT = V("CareContact", description="Care contacts (vårdkontakter).")
    CARE_DOCUMENT = V("CareDocument", description="Notes (journalanteckningar).")
    DIAGNOSIS = V("Diagnosis", description="Diagnoses.")
    ALERT = V("Alert", description="Alert information.")
    FUNCTIONAL_STATUS = V("FunctionalStatus", description="Functional status assessments.")
    LAB_RESULT = V("LabResult", description="Laboratory results.")
    REFERRAL_OUTCOME = V("ReferralOutcome", description="Referral outcomes (remissvar).")
    VACCINATION = V("Vaccination", description="Vaccinations.")
    PRESCRIPTION = V("Prescription", description="Prescriptions.")
    DISPENSATION = V("Dispensation", description="Dispensations at pharmacies.")
    MEDICATION_ADMINISTRATION = V(
        "MedicationAdministration", description="Signatures on home-care signing lists."
    )
    SIP_PLAN = V("SipPlan", description="SIPs (samordnade individuella planer).")
    DENTAL_TREATMENT = V("DentalTreatment", description="Completed dental treatments.")
    TOOTH_FINDING = V("ToothFinding", description="Findings on teeth.")
    MUNICIPAL_DECISION = V("MunicipalDecision", description="Municipal decisions (SoL/LSS).")
    IMPLEMENTATION_PLAN = V("ImplementationPlan", description="Implementation plans.")
    VITAL_SIGNS = V("VitalSigns", description="Vital signs with their NEWS2 score.")
    REFERRAL = V("Referral", description="Referrals (remisser) sent.")
    DISCHARGE_PLAN = V("DischargePlan", description="Coordinated discharges (lag 2017:612).")
