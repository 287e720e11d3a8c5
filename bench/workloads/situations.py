"""The situation operations (schema/operations/*.graphql), each as the role it serves.

vardkedja runs its shipped persisted operation by name, with the token of the role the
operation is for (bench/fixture.py: a dentist at the busiest dental clinic, a pharmacist, a
home-care nurse, the patient themself; docs/care-situations.md). PostGraphile runs a twin made
from the workload's `Root` (bench/workloads/spec.py) and the floor one SQL statement made from
the same description. Which patients: the candidates of bench/fixture.py for whom vardkedja's
answer equals the floor's (bench.equivalence.narrow_patients): the policy shows them the
described data in full.

What is compared is what PostGraphile and plain SQL can express; each workload names the parts
of its operation they cannot (`withheld`, computed fields, the policy's own choices), which
vardkedja still computes and returns but the comparison leaves out.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import asyncpg
import orjson

from bench.fixture import Fixture, PatientRef, Situation
from bench.workloads.base import Workload, document
from bench.workloads.spec import (
    NEWEST,
    Col,
    Many,
    Node,
    Ref,
    Root,
    Timeline,
    floor_sql,
    parameters,
    postgraphile,
    project,
)

UNIT = Ref("careUnit", "care_unit", "care_unit_id", "careUnitByCareUnitId", (Col("name", "name"),))
AKTIV = "t.status = 'aktiv'"
ID = Col("id", "id", "id")
WHEN = Col("eventTime", "event_time", "time")
PERSON = (
    ID,
    Col("personnummer", "identifier"),
    Col("givenName", "given_name"),
    Col("familyName", "family_name"),
    Col("birthDate", "birth_date"),
)


class SituationWorkload(Workload):
    """A shipped (or free-form) patient query as one role, with its twin and its floor."""

    situation: ClassVar[str]
    operation: ClassVar[str]
    root: ClassVar[Root]
    query: ClassVar[str | None] = None  # a document of our own (not a shipped operation)

    def _situation(self, fx: Fixture) -> Situation:
        return fx.situations[self.situation]

    def patient(self, fx: Fixture, i: int) -> PatientRef:
        return self._situation(fx).patient(i)

    def cycle_length(self, fx: Fixture) -> int:
        return len(self._situation(fx).patients)

    def headers(self, fx: Fixture, i: int) -> dict[str, str]:
        return self._situation(fx).headers_for(i)

    def ours_variables(self, fx: Fixture, i: int) -> dict[str, Any]:
        return {"personnummer": self.patient(fx, i).personnummer}

    def ours_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "operationName": self.operation,
            "variables": self.ours_variables(fx, i),
        }
        if self.query is not None:
            body["query"] = self.query
        return body

    def _parameters(self, fx: Fixture) -> dict[str, str]:
        s = self._situation(fx)
        known = {"provider": s.provider_id, "hsa": s.hsa_id}
        return {name: known[name] for name in parameters(self.root.fields)}

    def postgraphile_request(self, fx: Fixture, i: int) -> dict[str, Any]:
        variables: dict[str, Any] = {"id": self.patient(fx, i).id, **self._parameters(fx)}
        return {
            "query": postgraphile(self.root, self.operation),
            "operationName": self.operation,
            "variables": variables,
        }

    async def floor(self, conn: asyncpg.Connection, fx: Fixture, i: int) -> Any:
        args: list[Any] = [uuid.UUID(self.patient(fx, i).id)]
        for name, value in self._parameters(fx).items():
            args.append(uuid.UUID(value) if name == "provider" else value)
        return orjson.loads(await conn.fetchval(floor_sql(self.root), *args))

    def canonical(self, system: str, answer: Any) -> Any:
        patient = answer if system == "floor" else answer["patient"]
        return project(self.root.fields, patient)


def unit(name: str, fk: str, pg: str) -> Ref:
    return Ref(name, "care_unit", fk, pg, (Col("name", "name"),))


def alerts(*columns: str, own: bool = True, where: str = "", condition: str = "") -> Many:
    return Many(
        "alerts",
        "alert",
        "alertsByPatientId",
        (ID, *(Col(_camel(c), c) for c in columns)),
        50,
        own_provider=own,
        where=where,
        condition=condition,
    )


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(part.capitalize() for part in rest)


def cols(*columns: str) -> tuple[Col, ...]:
    return tuple(Col(_camel(c), c) for c in columns)


def implementation_plans(
    fields: tuple[Node, ...], activity_fields: tuple[Node, ...], plans: int, activities: int
) -> Many:
    """A municipal decision's implementation plans with their activities (in order)."""
    return Many(
        "implementationPlans",
        "implementation_plan",
        "implementationPlansByPatientIdAndDecisionId",
        (
            ID,
            *fields,
            Many(
                "activities",
                "plan_activity",
                "planActivitiesByPatientIdAndPlanId",
                activity_fields,
                activities,
                fk="plan_id",
                scoped=True,
                nullified=False,
                order=(("position", "ASC"),),
            ),
        ),
        plans,
        fk="decision_id",
        scoped=True,
    )


def insats(*columns: str) -> Ref:
    return Ref("insats", "insats", "insats_code", "insatByInsatsCode", cols(*columns), key="code")


def answer(fields: tuple[Node, ...]) -> Ref:
    """A referral's answer (its outcome)."""
    return Ref(
        "answer",
        "referral_outcome",
        "outcome_id",
        "referralOutcomeByPatientIdAndOutcomeId",
        fields,
        scoped=True,
    )


class DentalVisit(SituationWorkload):
    """DentalVisit as a dentist (tandläkare) of the busiest dental clinic.

    Compared: the patient, alerts, the active medication, the dental-relevant drugs (ATC B01,
    M05), dental treatments and the tooth chart, each of the dentist's own care provider
    (without the patient's consents the policy shows no more: A4, and for prescriptions NLL's
    consent). Not compared: `withheld` (the policy's, PostGraphile has none).
    """

    name = "dental"
    title = "DentalVisit, a dentist"
    situation = "dental"
    operation = "DentalVisit"
    root = Root(
        (
            *PERSON,
            alerts("alert_type", "description", "severity", "agent_atc_code", "agent_text"),
            Many(
                "activeMedication",
                "prescription",
                "prescriptionsByPatientId",
                (ID, *cols("atc_code", "drug_name")),
                100,
                where=AKTIV,
                condition='status: "aktiv"',
                total=True,
                mine=True,
            ),
            Many(
                "dentalRelevant",
                "prescription",
                "prescriptionsByPatientId",
                (ID, *cols("atc_code", "drug_name", "strength", "dosage_text")),
                100,
                where=AKTIV + " AND (t.atc_code LIKE 'B01%' OR t.atc_code LIKE 'M05%')",
                condition='status: "aktiv"',
                filter='or: [{ atcCode: { startsWith: "B01" } }, '
                '{ atcCode: { startsWith: "M05" } }]',
                total=True,
                mine=True,
            ),
            Many(
                "dentalTreatments",
                "dental_treatment",
                "dentalTreatmentsByPatientId",
                (
                    ID,
                    WHEN,
                    *cols("condition_code", "procedure_code", "procedure_text", "tooth", "surface"),
                    Col("priceSek", "price_sek", "num"),
                    UNIT,
                ),
                20,
                total=True,
                own_provider=True,
            ),
            Many(
                "toothChart",
                "tooth_finding",
                "toothFindingsByPatientId",
                (
                    ID,
                    *cols("tooth", "surface", "finding_code", "finding_text"),
                    WHEN,
                ),
                100,
                own_provider=True,
                order=(("tooth", "ASC"), ("surface", "ASC"), *NEWEST),
                latest_per=("tooth", "surface"),
            ),
        )
    )


class PharmacyDispensing(SituationWorkload):
    """PharmacyDispensing as a pharmacist (farmaceut) at a pharmacy (NLL expedition).

    Compared: the patient, drug hypersensitivities (the alerts a pharmacist may see), every
    active prescription of any prescriber with its dispensations (their pharmacy, what they
    reverse). Not compared: `withheld`, `accountable` (a name built from three columns),
    `remainingDispensations` and `remainingAmount` (computed from the dispensations).
    """

    name = "pharmacy"
    title = "PharmacyDispensing, a pharmacist"
    situation = "pharmacy"
    operation = "PharmacyDispensing"
    root = Root(
        (
            *PERSON,
            alerts(
                "alert_type",
                "description",
                "severity",
                "agent_npl_id",
                "agent_atc_code",
                "agent_text",
                own=False,
                where="t.alert_type = 'hypersensitivity'",
                condition='alertType: "hypersensitivity"',
            ),
            Many(
                "prescriptions",
                "prescription",
                "prescriptionsByPatientId",
                (
                    ID,
                    Col("version", "version", "num"),
                    *cols("kind", "drug_npl_id", "npl_pack_id", "atc_code", "drug_name"),
                    *cols("strength", "form", "dosage_text"),
                    Col("amount", "amount", "num"),
                    Col("dispensationsAllowed", "dispensations_allowed", "num"),
                    Col("dispensationIntervalDays", "dispensation_interval_days", "num"),
                    Col("nonReplaceable", "non_replaceable", "bool"),
                    Col("validUntil", "valid_until"),
                    WHEN,
                    UNIT,
                    Many(
                        "dispensations",
                        "dispensation",
                        "dispensationsByPatientIdAndPrescriptionId",
                        (
                            ID,
                            WHEN,
                            Col("amount", "amount", "num"),
                            *cols("article_name", "article_npl_pack_id"),
                            Ref(
                                "reverses",
                                "dispensation",
                                "reverses_id",
                                "dispensationByPatientIdAndReversesId",
                                (ID,),
                                scoped=True,
                            ),
                            unit("pharmacy", "care_unit_id", "careUnitByCareUnitId"),
                        ),
                        20,
                        fk="prescription_id",
                        scoped=True,
                        total=True,
                    ),
                ),
                100,
                where=AKTIV,
                condition='status: "aktiv"',
                total=True,
            ),
        )
    )


MEDICATION = (
    ID,
    *cols("drug_name", "strength", "form", "dosage_text"),
    Col("doseQuantity", "dose_quantity", "num"),
    Col("doseUnit", "dose_unit"),
    Col("dosesPerDay", "doses_per_day", "num"),
)


def active_prescriptions(fields: tuple[Node, ...], mine: bool = True, where: str = "") -> Many:
    """The active prescriptions: the caller's own without the patient's NLL consent (A11)."""
    return Many(
        "prescriptions",
        "prescription",
        "prescriptionsByPatientId",
        fields,
        100,
        where=AKTIV + where,
        condition='status: "aktiv"' + (", approvedForPatient: true" if where else ""),
        mine=mine,
    )


class HomeCareVisit(SituationWorkload):
    """HomeCareVisit as a nurse of the busiest home-care unit (municipal decisions it carries out).

    Compared: the patient, alerts, active medication, the signing list (administrations, with
    their prescription), the municipal decisions with insats, legal basis and unit, and their
    implementation plans with activities (three levels), all of the municipality's own records
    (the region's need the patient's consents). Not compared: `withheld`, `address` (its own
    object in vardkedja, hidden for protected identities), an administration's `accountable`.
    """

    name = "home_care"
    title = "HomeCareVisit, a home-care nurse"
    situation = "home_care"
    operation = "HomeCareVisit"
    root = Root(
        (
            *PERSON,
            alerts("alert_type", "description", "severity", "agent_text"),
            active_prescriptions(MEDICATION),
            Many(
                "medicationAdministrations",
                "medication_administration",
                "medicationAdministrationsByPatientId",
                (
                    ID,
                    Col("outcome", "outcome"),
                    Col("plannedAt", "planned_at", "time"),
                    WHEN,
                    *cols("dose_text", "not_given_reason"),
                    Ref(
                        "prescription",
                        "prescription",
                        "prescription_id",
                        "prescriptionByPatientIdAndPrescriptionId",
                        (ID, *cols("drug_name", "strength")),
                        scoped=True,
                    ),
                ),
                30,
                mine=True,
            ),
            Many(
                "municipalDecisions",
                "municipal_decision",
                "municipalDecisionsByPatientId",
                (
                    ID,
                    *cols("decided_on", "valid_from", "valid_to", "outcome"),
                    Col("extentAmount", "extent_amount", "num"),
                    Col("extentUnit", "extent_unit"),
                    insats("code", "name", "framework"),
                    Ref(
                        "legalBasis",
                        "legal_basis",
                        "legal_basis_code",
                        "legalBasisByLegalBasisCode",
                        cols("law", "paragraph"),
                        key="code",
                    ),
                    UNIT,
                    implementation_plans(
                        cols("goals", "follow_up_on"),
                        (
                            Col("position", "position", "num"),
                            *cols("goal", "description", "responsible", "when_how"),
                            Col("followUpOn", "follow_up_on"),
                        ),
                        plans=5,
                        activities=50,
                    ),
                ),
                20,
                total=True,
                own_provider=True,
            ),
        )
    )


def sent_to(*columns: str) -> str:
    """The caller's provider's own rows and those sent to it (app/access/addressed.py)."""
    return "(" + " OR ".join(f"t.{c} = {{provider}}" for c in ("care_provider_id", *columns)) + ")"


def pg_sent_to(*fields: str) -> str:
    either = ", ".join(f"{{ {f}: {{ equalTo: $provider }} }}" for f in ("careProviderId", *fields))
    return f"or: [{either}]"


class DischargeHandover(SituationWorkload):
    """DischargeHandover as a nurse of the municipal unit most discharge plans are sent to.

    Compared: the patient, discharge plans (with the hospital, municipal and primary-care
    units), referrals (with the recipient unit and the answer), SIPs with participants, goals
    and actions (three levels), the nurse's own prescriptions, alerts and the latest vital
    signs: the municipality's own records, and the plans, referrals and SIPs sent to it or
    shared with it. Not compared: `withheld`, `address`, a plan's
    `daysSinceReady` and `overdue` and an action's `goalPosition` (computed).
    """

    name = "discharge"
    title = "DischargeHandover, a home-care nurse"
    situation = "discharge"
    operation = "DischargeHandover"
    root = Root(
        (
            *PERSON,
            Many(
                "dischargePlans",
                "discharge_plan",
                "dischargePlansByPatientId",
                (
                    ID,
                    Col("version", "version", "num"),
                    Col("status", "status"),
                    WHEN,
                    Col("expectedNeeds", "expected_needs"),
                    Col("readyAt", "ready_at", "time"),
                    Col("plannedDischargeOn", "planned_discharge_on"),
                    Col("acknowledgedAt", "acknowledged_at", "time"),
                    Col("acknowledgedByName", "acknowledged_by_name"),
                    Col("dischargedAt", "discharged_at", "time"),
                    UNIT,
                    unit("municipalUnit", "municipal_unit_id", "careUnitByMunicipalUnitId"),
                    unit("primaryCareUnit", "primary_care_unit_id", "careUnitByPrimaryCareUnitId"),
                ),
                5,
                where=sent_to("municipal_provider_id", "primary_care_provider_id"),
                filter=pg_sent_to("municipalProviderId", "primaryCareProviderId"),
            ),
            Many(
                "referrals",
                "referral",
                "referralsByPatientId",
                (
                    ID,
                    Col("version", "version", "num"),
                    *cols("status", "priority", "reason", "question"),
                    WHEN,
                    UNIT,
                    unit("recipientUnit", "recipient_unit_id", "careUnitByRecipientUnitId"),
                    answer((*cols("outcome_type", "text"), WHEN, UNIT)),
                ),
                10,
                where=sent_to("recipient_provider_id"),
                filter=pg_sent_to("recipientProviderId"),
            ),
            Many(
                "sipPlans",
                "sip_plan",
                "sipPlansByPatientId",
                (
                    ID,
                    Col("version", "version", "num"),
                    *cols("title", "status", "follow_up_on"),
                    UNIT,
                    Many(
                        "participants",
                        "sip_participant",
                        "sipParticipantsByPatientIdAndPlanId",
                        (*cols("name", "role"), UNIT),
                        20,
                        fk="plan_id",
                        scoped=True,
                        nullified=False,
                        order=(("written_at", "ASC"), ("id", "ASC")),
                    ),
                    Many(
                        "goals",
                        "sip_goal",
                        "sipGoalsByPatientIdAndPlanId",
                        (Col("position", "position", "num"), Col("goal", "goal")),
                        20,
                        fk="plan_id",
                        scoped=True,
                        nullified=False,
                        order=(("position", "ASC"),),
                    ),
                    Many(
                        "actions",
                        "sip_action",
                        "sipActionsByPatientIdAndPlanId",
                        (
                            *cols("description", "status", "follow_up_on"),
                            unit(
                                "writtenByUnit", "written_by_unit_id", "careUnitByWrittenByUnitId"
                            ),
                            Ref(
                                "responsibleProvider",
                                "care_provider",
                                "responsible_provider_id",
                                "careProviderByResponsibleProviderId",
                                (Col("name", "name"),),
                            ),
                        ),
                        50,
                        fk="plan_id",
                        scoped=True,
                        nullified=False,
                        order=(("written_at", "ASC"), ("id", "ASC")),
                    ),
                ),
                5,
                where="(t.care_provider_id = {provider} OR EXISTS (SELECT 1 FROM sip_participant"
                " sp WHERE sp.patient_id = t.patient_id AND sp.plan_id = t.id"
                " AND sp.care_provider_id = {provider}))",
                filter="or: [{ careProviderId: { equalTo: $provider } }, "
                "{ sipParticipantsByPatientIdAndPlanId: "
                "{ some: { careProviderId: { equalTo: $provider } } } }]",
            ),
            active_prescriptions(MEDICATION),
            alerts("alert_type", "description", "severity", "agent_text"),
            Many(
                "vitalSigns",
                "vital_signs",
                "vitalSignsByPatientId",
                (
                    WHEN,
                    Col("respirationRate", "respiration_rate", "num"),
                    Col("spo2", "spo2", "num"),
                    Col("supplementalOxygen", "supplemental_oxygen", "bool"),
                    Col("systolicBp", "systolic_bp", "num"),
                    Col("pulse", "pulse", "num"),
                    Col("consciousness", "consciousness"),
                    Col("temperature", "temperature", "num"),
                    Col("news2Score", "news2_score", "num"),
                    Col("news2Risk", "news2_risk"),
                ),
                1,
                own_provider=True,
            ),
        )
    )


def own(
    name: str, table: str, pg: str, fields: tuple[Node, ...], first: int, total: bool = False
) -> Many:
    """A list of the caller's own care provider's rows, newest first, by patient."""
    return Many(name, table, pg, fields, first, total=total, own_provider=True)


class PatientOverview(SituationWorkload):
    """A free-form overview nobody shipped: every category, three levels deep, as a clinician.

    vardkedja gets the query text (bench/workloads/vardkedja/PatientOverview.graphql), not a
    persisted operation: what a third-party developer or a UI team sends. The caller is the
    emergency workload's clinician; the patients are the candidates of that unit for whom the
    policy shows the described data in full (own provider's records, the clinician's own
    prescriptions with their dispensations). Everything asked is compared.
    """

    name = "overview"
    title = "free-form overview, all categories, 3 levels"
    situation = "overview"
    operation = "PatientOverview"
    query = document("vardkedja", "PatientOverview")
    root = Root(
        (
            *PERSON,
            own(
                "careContacts",
                "care_contact",
                "careContactsByPatientId",
                (
                    ID,
                    WHEN,
                    *cols("contact_type", "status", "reason"),
                    UNIT,
                    Many(
                        "diagnoses",
                        "diagnosis",
                        "diagnosesByPatientIdAndCareContactId",
                        (ID, *cols("code", "display"), UNIT),
                        5,
                        fk="care_contact_id",
                        scoped=True,
                        own_provider=True,
                    ),
                ),
                10,
                total=True,
            ),
            Many(
                "prescriptions",
                "prescription",
                "prescriptionsByPatientId",
                (
                    ID,
                    *cols("drug_name", "status"),
                    Many(
                        "dispensations",
                        "dispensation",
                        "dispensationsByPatientIdAndPrescriptionId",
                        (
                            ID,
                            WHEN,
                            Col("articleName", "article_name"),
                            unit("pharmacy", "care_unit_id", "careUnitByCareUnitId"),
                        ),
                        5,
                        fk="prescription_id",
                        scoped=True,
                    ),
                ),
                10,
                total=True,
                mine=True,
            ),
            own(
                "labResults",
                "lab_result",
                "labResultsByPatientId",
                (
                    ID,
                    *cols("code", "name"),
                    Col("valueNumeric", "value_numeric", "num"),
                    Col("unit", "unit"),
                    WHEN,
                    UNIT,
                ),
                10,
            ),
            own(
                "vaccinations",
                "vaccination",
                "vaccinationsByPatientId",
                (ID, *cols("vaccine_name"), WHEN),
                5,
            ),
            own(
                "documents",
                "care_document",
                "careDocumentsByPatientId",
                (ID, *cols("document_type", "title"), WHEN, UNIT),
                5,
            ),
            own(
                "alerts",
                "alert",
                "alertsByPatientId",
                (ID, *cols("alert_type", "severity", "description")),
                10,
            ),
            own(
                "referrals",
                "referral",
                "referralsByPatientId",
                (
                    ID,
                    *cols("status", "reason"),
                    unit("recipientUnit", "recipient_unit_id", "careUnitByRecipientUnitId"),
                    answer(cols("outcome_type", "text")),
                ),
                5,
            ),
            own(
                "municipalDecisions",
                "municipal_decision",
                "municipalDecisionsByPatientId",
                (
                    ID,
                    Col("decidedOn", "decided_on"),
                    insats("name"),
                    implementation_plans(
                        (Col("goals", "goals"),),
                        (Col("position", "position", "num"), Col("description", "description")),
                        plans=3,
                        activities=10,
                    ),
                ),
                5,
            ),
            own(
                "dentalTreatments",
                "dental_treatment",
                "dentalTreatmentsByPatientId",
                (ID, *cols("procedure_text", "tooth"), UNIT),
                5,
            ),
            own(
                "vitalSigns",
                "vital_signs",
                "vitalSignsByPatientId",
                (ID, WHEN, Col("pulse", "pulse", "num"), Col("news2Score", "news2_score", "num")),
                3,
            ),
        )
    )


# Every CareEvent table (app.models.CLINICAL_TABLES): (GraphQL type, table, PostGraphile field).
CARE_EVENTS = tuple(
    (kind, table, f"{plural}ByPatientId")
    for kind, table, plural in (
        ("CareContact", "care_contact", "careContacts"),
        ("CareDocument", "care_document", "careDocuments"),
        ("Diagnosis", "diagnosis", "diagnoses"),
        ("Alert", "alert", "alerts"),
        ("FunctionalStatus", "functional_status", "functionalStatuses"),
        ("LabResult", "lab_result", "labResults"),
        ("ReferralOutcome", "referral_outcome", "referralOutcomes"),
        ("Vaccination", "vaccination", "vaccinations"),
        ("Prescription", "prescription", "prescriptions"),
        ("Dispensation", "dispensation", "dispensations"),
        ("DentalTreatment", "dental_treatment", "dentalTreatments"),
        ("ToothFinding", "tooth_finding", "toothFindings"),
        ("MunicipalDecision", "municipal_decision", "municipalDecisions"),
        ("ImplementationPlan", "implementation_plan", "implementationPlans"),
        ("VitalSigns", "vital_signs", "vitalSigns"),
        ("Referral", "referral", "referrals"),
        ("DischargePlan", "discharge_plan", "dischargePlans"),
        ("MedicationAdministration", "medication_administration", "medicationAdministrations"),
        ("SipPlan", "sip_plan", "sipPlans"),
    )
)
APPROVED = "t.approved_for_patient"
PAGE = 20


class MyRecord(SituationWorkload):
    """MyRecord as the patient themself (a patient token per patient, 16 or older: A10).

    Compared: the patient, alerts and active prescriptions approved for the patient, and the
    first page of the timeline (every CareEvent approved for the patient, newest first: type,
    id, time, unit, provider) with its total. PostGraphile has no union of tables: its twin
    asks each of the 19 tables for its newest 20 rows and the comparison merges them (the same
    first page; the totals summed). Not compared: `withheld`, `address`, `pageInfo`, and the
    fields of each type's inline fragment.
    """

    name = "my_record"
    title = "MyRecord, the patient"
    situation = "my_record"
    operation = "MyRecord"
    root = Root(
        (
            *PERSON,
            alerts(
                "alert_type",
                "description",
                "severity",
                "agent_text",
                own=False,
                where=APPROVED,
                condition="approvedForPatient: true",
            ),
            active_prescriptions(
                (ID, *cols("drug_name", "strength", "dosage_text", "valid_until")),
                mine=False,
                where=" AND " + APPROVED,
            ),
            Timeline(
                "timeline",
                CARE_EVENTS,
                (
                    Col("__typename", "kind"),
                    ID,
                    WHEN,
                    UNIT,
                    Ref(
                        "careProvider",
                        "care_provider",
                        "care_provider_id",
                        "careProviderByCareProviderId",
                        (Col("name", "name"),),
                    ),
                ),
                PAGE,
                where=APPROVED,
                condition="approvedForPatient: true",
            ),
        )
    )

    def ours_variables(self, fx: Fixture, i: int) -> dict[str, Any]:
        return {**super().ours_variables(fx, i), "first": PAGE}
