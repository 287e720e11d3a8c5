"""EmergencyOverview (schema/operations/EmergencyOverview.graphql) as one statement.

Statements: the patient's id by identifier, the policy's decision (its own statements, once per
request as on the GraphQL path), then one statement that pages alerts, active prescriptions,
care contacts with their diagnoses, diagnoses and the latest vital signs (NEWS2), with the
policy's visibility predicate of each table in its WHERE, and returns the `data` JSON and the
rows it disclosed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
)

from app.access.data import visibility_of
from app.access.policy import PatientAccess
from app.access.withheld import withheld
from app.context import Context
from app.errors import AppError
from app.safety import BLOOD_GROUP_CODES, CRITICAL_ALERT_TYPES, CRITICAL_SEVERITIES
from app.sqlplan import Plan, compile_plan
from resolvers.compiled.base import (
    CompiledOperation,
    Data,
    Disclosed,
    cached_plan,
    columns_of,
    disclosures,
    fetch_json,
    newest_first,
    page_of,
    plan_for,
    total_of,
)
from resolvers.compiled.sqljson import (
    global_id,
    iso_datetime,
    text_date,
    text_enum,
    text_list,
    text_obj,
    text_or_null,
    text_plain,
    text_scalar,
    text_string,
)
from resolvers.filters import RowFilter
from resolvers.patients import PERSON_NUMBER_KINDS, normalized_identifier
from resolvers.tables import (
    ALERT,
    CARE_CONTACT,
    CARE_UNIT,
    DIAGNOSIS,
    LAB_RESULT,
    PATIENT,
    PRESCRIPTION,
    VITAL_SIGNS,
)
from schema.enums import (
    AlertType,
    Consciousness,
    ContactStatus,
    ContactType,
    DiagnosisType,
    LabInterpretation,
    News2Risk,
    Severity,
    Sex,
)

# The columns each list's JSON reads (besides id, patient_id, event_time).
ALERT_COLUMNS = (
    "alert_type",
    "description",
    "severity",
    "agent_atc_code",
    "agent_text",
    "condition_code",
    "treatment_code",
    "valid_from",
    "valid_to",
    "care_unit_id",
)
PRESCRIPTION_COLUMNS = (
    "atc_code",
    "drug_name",
    "strength",
    "form",
    "dosage_text",
    "valid_until",
    "accountable_hsa_id",
    "accountable_practitioner_id",
    "accountable_name",
    "care_unit_id",
)
CONTACT_COLUMNS = ("contact_type", "status", "reason", "period_end", "care_unit_id")
LAB_COLUMNS = ("code", "name", "value_numeric", "value_text", "unit", "interpretation")
BLOOD_GROUP = RowFilter(values=(("code", BLOOD_GROUP_CODES),))
DIAGNOSIS_COLUMNS = ("code", "display", "diagnosis_type", "care_unit_id")
VITAL_COLUMNS = (
    "news2_score",
    "news2_risk",
    "respiration_rate",
    "spo2",
    "supplemental_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
    "care_unit_id",
)
ACTIVE = RowFilter(values=(("status", frozenset({"aktiv"})),))
UNIT = CARE_UNIT.alias("unit")
# `since` of the operation, bound per run (plans with and without it differ in shape).
SINCE = bindparam("since", None, type_=DateTime(timezone=True))


@dataclass(frozen=True)
class Prepared:
    identifier: str
    since: datetime | None


def _find_patient() -> Plan:
    """As patient_by_identifier: a personnummer or samordningsnummer only (another system's
    identifier may have the same digits), which is also what the unique index
    (identifier_kind, identifier) can find."""
    return cached_plan(
        "find patient",
        lambda: compile_plan(
            select(PATIENT.c.id).where(
                PATIENT.c.identifier == bindparam("identifier", None),
                PATIENT.c.identifier_kind.in_(PERSON_NUMBER_KINDS),
            ),
            names=["identifier"],
        ),
    )


def plan_values(prepared: Prepared, patient_id: uuid.UUID) -> dict[str, Any]:
    return {"pid": patient_id, "since": prepared.since}


def _unit(care_unit_id: ColumnElement[Any], *fields: str) -> ColumnElement[Any]:
    """careUnit { <fields> } of a row as JSON text ('null' without a unit): a reference table,
    no policy (as CareUnitByIdLoader)."""
    columns = {"name": UNIT.c.name, "hsaId": UNIT.c.hsa_id}
    built = text_obj(*[(f, text_string(columns[f])) for f in fields])
    return text_or_null(select(built).where(UNIT.c.id == care_unit_id).scalar_subquery())


def _page(page: Any, node: ColumnElement[Any]) -> ColumnElement[Any]:
    """{totalCount, nodes} of a page CTE, `node` the JSON text of one of its rows."""
    return text_obj(
        ("totalCount", text_scalar(total_of(page))),
        ("nodes", text_list(page, node, newest_first(page))),
    )


class EmergencyOverview(CompiledOperation):
    name = "EmergencyOverview"

    def prepare(self, variables: dict[str, Any]) -> Prepared | None:
        try:
            identifier = normalized_identifier(variables["personnummer"])
        except AppError:
            return None
        return Prepared(identifier, variables.get("since"))

    async def run(self, ctx: Context, prepared: Any) -> Data:
        assert isinstance(prepared, Prepared)
        # As patient_by_identifier + PatientByIdLoader: find, decide, deny or disclose.
        found = await ctx.data.fetch_plan(_find_patient(), {"identifier": prepared.identifier})
        if not found:
            return {"patient": None}
        patient_id: uuid.UUID = found[0]["id"]
        if patient_id not in await ctx.data.visible_patients([patient_id]):
            return {"patient": None}
        decision = (await ctx.data.access([patient_id]))[patient_id]
        # As Patient.withheld (resolvers/withheld.py): telling it is a disclosure.
        ctx.audit.disclose_all(patient_id, [w.resource for w in withheld(decision)])
        plan = plan_for(
            ("EmergencyOverview", prepared.since is None),
            decision,
            lambda blank, pid: self.statement(blank, pid, since=prepared.since is not None),
            names=("since",) if prepared.since is not None else (),
        )
        return fetch_json(ctx, await ctx.data.fetch_plan(plan, plan_values(prepared, patient_id)))

    def statement(self, decision: PatientAccess, pid: uuid.UUID, *, since: bool) -> Select[Any]:
        """The statement for one patient's decision (`pid` is its patient id, or a placeholder
        for it); with `since`, care contacts are those of the bind parameter `since` on."""

        def where(table: Any, extra: RowFilter | None = None) -> list[Any]:
            # As PatientListLoader.where + Listing.conditions: key, policy, filter, nullified.
            conditions = [table.c.patient_id == pid, visibility_of(table, [decision])]
            if extra is not None:
                conditions += extra.conditions(table)
            return [*conditions, table.c.nullified.is_(False)]

        period = RowFilter(start=SINCE if since else None, period_overlaps=True)
        alerts = page_of(ALERT, "alerts", where(ALERT), 50, ALERT_COLUMNS)
        prescriptions = page_of(
            PRESCRIPTION,
            "prescriptions",
            where(PRESCRIPTION, ACTIVE),
            50,
            PRESCRIPTION_COLUMNS,
        )
        contacts = page_of(
            CARE_CONTACT, "contacts", where(CARE_CONTACT, period), 10, CONTACT_COLUMNS
        )
        diagnoses = page_of(DIAGNOSIS, "diagnoses", where(DIAGNOSIS), 20, DIAGNOSIS_COLUMNS)
        labs = page_of(LAB_RESULT, "labs", where(LAB_RESULT), 10, LAB_COLUMNS)
        blood = page_of(LAB_RESULT, "blood", where(LAB_RESULT, BLOOD_GROUP), 1, LAB_COLUMNS)
        vitals = page_of(VITAL_SIGNS, "vitals", where(VITAL_SIGNS), 1, VITAL_COLUMNS)
        contact_diagnoses = self._contact_diagnoses(decision, contacts)
        patient = PATIENT.alias("p")
        data = text_obj(
            (
                "patient",
                text_obj(
                    ("id", text_plain(global_id("Patient", patient.c.id))),
                    ("personnummer", text_string(patient.c.identifier)),
                    ("givenName", text_string(patient.c.given_name)),
                    ("familyName", text_string(patient.c.family_name)),
                    ("birthDate", text_date(patient.c.birth_date)),
                    ("sex", text_enum(patient.c.sex, Sex)),
                    ("protectedIdentity", text_scalar(patient.c.protected_identity)),
                    ("deceasedOn", text_date(patient.c.deceased_on)),
                    ("withheld", _withheld(decision)),
                    ("alerts", self._alerts(alerts)),
                    ("prescriptions", self._prescriptions(prescriptions)),
                    ("bloodGroup", self._blood_group(blood)),
                    ("labResults", self._labs(labs)),
                    ("careContacts", self._contacts(contacts, contact_diagnoses)),
                    ("diagnoses", self._diagnoses(diagnoses)),
                    ("vitalSigns", self._vitals(vitals)),
                ),
            )
        )
        patient_row = select(patient.c.id.label("patient_id"), patient.c.id).where(
            patient.c.id == pid
        )
        disclosed = disclosures(
            [
                Disclosed("Patient", patient_row.cte("patient_row")),
                Disclosed("Alert", alerts),
                Disclosed("Prescription", prescriptions),
                Disclosed("CareContact", contacts),
                Disclosed("Diagnosis", contact_diagnoses),
                Disclosed("Diagnosis", diagnoses),
                Disclosed("LabResult", blood),
                Disclosed("LabResult", labs),
                Disclosed("VitalSigns", vitals),
            ]
        )
        return select(data.label("data"), disclosed.label("disclosed")).where(patient.c.id == pid)

    def _contact_diagnoses(self, decision: PatientAccess, contacts: Any) -> Any:
        """diagnoses(first: 5) of each contact on the page (DiagnosesByCareContactLoader)."""
        visible = visibility_of(DIAGNOSIS, [decision])
        per_contact = (
            select(*columns_of(DIAGNOSIS, (*DIAGNOSIS_COLUMNS, "care_contact_id")))
            .where(
                DIAGNOSIS.c.patient_id == contacts.c.patient_id,
                DIAGNOSIS.c.care_contact_id == contacts.c.id,
                visible,
                DIAGNOSIS.c.nullified.is_(False),
            )
            .order_by(*[DIAGNOSIS.c[n].desc() for n in ("event_time", "id")])
            .limit(5)
            .lateral("per_contact")
        )
        return (
            select(per_contact)
            .select_from(contacts)
            # The patient too: the policy's `false` (a denied decision) folds the lateral
            # subquery's conditions away, and a join by patient stays on one Citus node.
            .join(
                per_contact,
                (per_contact.c.patient_id == contacts.c.patient_id)
                & (per_contact.c.care_contact_id == contacts.c.id),
            )
            .cte("contact_diagnoses")
        )

    def _alerts(self, page: Any) -> ColumnElement[Any]:
        c = page.c
        node = text_obj(
            ("id", text_plain(global_id("Alert", c.id, c.patient_id))),
            ("critical", text_scalar(_critical(c.alert_type, c.severity))),
            ("alertType", text_enum(c.alert_type, AlertType)),
            ("description", text_string(c.description)),
            ("severity", text_enum(c.severity, Severity)),
            ("agentAtcCode", text_string(c.agent_atc_code)),
            ("agentText", text_string(c.agent_text)),
            ("conditionCode", text_string(c.condition_code)),
            ("treatmentCode", text_string(c.treatment_code)),
            ("validFrom", text_date(c.valid_from)),
            ("validTo", text_date(c.valid_to)),
            ("careUnit", _unit(c.care_unit_id, "name")),
        )
        return _page(page, node)

    def _prescriptions(self, page: Any) -> ColumnElement[Any]:
        c = page.c
        # As the resolver: no accountable without either of its ids.
        accountable = case(
            (
                c.accountable_hsa_id.is_(None) & c.accountable_practitioner_id.is_(None),
                literal_column("'null'", Text),
            ),
            else_=text_obj(("name", text_string(c.accountable_name))),
        )
        node = text_obj(
            ("id", text_plain(global_id("Prescription", c.id, c.patient_id))),
            ("atcCode", text_string(c.atc_code)),
            ("drugName", text_string(c.drug_name)),
            ("strength", text_string(c.strength)),
            ("form", text_string(c.form)),
            ("dosageText", text_string(c.dosage_text)),
            ("validUntil", text_date(c.valid_until)),
            ("accountable", accountable),
            ("careUnit", _unit(c.care_unit_id, "name")),
        )
        return _page(page, node)

    def _contacts(self, page: Any, diagnoses: Any) -> ColumnElement[Any]:
        c, d = page.c, diagnoses.c
        diagnosis = text_obj(
            ("code", text_string(d.code)),
            ("display", text_string(d.display)),
            ("diagnosisType", text_enum(d.diagnosis_type, DiagnosisType)),
        )
        of_contact = [d.patient_id == c.patient_id, d.care_contact_id == c.id]
        of_this = text_list(diagnoses, diagnosis, newest_first(diagnoses), of_contact)
        node = text_obj(
            ("id", text_plain(global_id("CareContact", c.id, c.patient_id))),
            ("contactType", text_enum(c.contact_type, ContactType)),
            ("status", text_enum(c.status, ContactStatus)),
            ("reason", text_string(c.reason)),
            ("eventTime", text_plain(iso_datetime(c.event_time))),
            ("periodEnd", text_plain(iso_datetime(c.period_end))),
            ("careUnit", _unit(c.care_unit_id, "name", "hsaId")),
            ("diagnoses", text_obj(("nodes", of_this))),
        )
        return _page(page, node)

    def _blood_group(self, page: Any) -> ColumnElement[Any]:
        """bloodGroup { id valueText eventTime }: the page's one row, or null."""
        c = page.c
        node = text_obj(
            ("id", text_plain(global_id("LabResult", c.id, c.patient_id))),
            ("valueText", text_string(c.value_text)),
            ("eventTime", text_plain(iso_datetime(c.event_time))),
        )
        return text_or_null(select(node).select_from(page).limit(1).scalar_subquery())

    def _labs(self, page: Any) -> ColumnElement[Any]:
        c = page.c
        node = text_obj(
            ("id", text_plain(global_id("LabResult", c.id, c.patient_id))),
            ("code", text_string(c.code)),
            ("name", text_string(c.name)),
            # strawberry writes a Decimal as its str(): numeric's text form, as a JSON string.
            ("valueNumeric", text_string(cast(c.value_numeric, Text))),
            ("valueText", text_string(c.value_text)),
            ("unit", text_string(c.unit)),
            ("interpretation", text_enum(c.interpretation, LabInterpretation)),
            ("eventTime", text_plain(iso_datetime(c.event_time))),
        )
        return _page(page, node)

    def _diagnoses(self, page: Any) -> ColumnElement[Any]:
        c = page.c
        node = text_obj(
            ("id", text_plain(global_id("Diagnosis", c.id, c.patient_id))),
            ("code", text_string(c.code)),
            ("display", text_string(c.display)),
            ("diagnosisType", text_enum(c.diagnosis_type, DiagnosisType)),
            ("eventTime", text_plain(iso_datetime(c.event_time))),
            ("careUnit", _unit(c.care_unit_id, "name")),
        )
        return _page(page, node)

    def _vitals(self, page: Any) -> ColumnElement[Any]:
        c = page.c
        node = text_obj(
            ("id", text_plain(global_id("VitalSigns", c.id, c.patient_id))),
            ("news2Score", text_scalar(c.news2_score)),
            ("news2Risk", text_enum(c.news2_risk, News2Risk)),
            ("respirationRate", text_scalar(c.respiration_rate)),
            ("spo2", text_scalar(c.spo2)),
            ("supplementalOxygen", text_scalar(c.supplemental_oxygen)),
            ("systolicBp", text_scalar(c.systolic_bp)),
            ("pulse", text_scalar(c.pulse)),
            ("consciousness", text_enum(c.consciousness, Consciousness)),
            # strawberry writes a Decimal as its str(): numeric's text form, as a JSON string.
            ("temperature", text_string(cast(c.temperature, Text))),
            ("eventTime", text_plain(iso_datetime(c.event_time))),
            ("careUnit", _unit(c.care_unit_id, "name")),
        )
        return _page(page, node)


def _critical(alert_type: ColumnElement[Any], severity: ColumnElement[Any]) -> ColumnElement[Any]:
    """Alert.critical (app/safety.py.critical_alert) in SQL."""
    return or_(
        alert_type.in_(sorted(CRITICAL_ALERT_TYPES)),
        func.coalesce(severity, literal_column("''", Text)).in_(sorted(CRITICAL_SEVERITIES)),
    )


def _withheld(decision: PatientAccess) -> ColumnElement[Any]:
    """Patient.withheld as a constant of the plan: it follows from the decision alone (whose
    shape keys the plan). Its values are enum names, which need no SQL quoting."""
    items = [
        {"category": w.category.value, "reason": w.reason.value, "action": w.action.value}
        for w in withheld(decision)
    ]
    text = orjson.dumps(items).decode()
    assert "'" not in text
    return literal_column(f"'{text}'", Text)
