"""Plain factory functions for tests: create_<thing>(conn, **overrides) -> row id or mapping."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, TypeVar, cast

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app import models
from app.identifiers import luhn_check_digit

_counter = itertools.count(1)


def personnummer(born: date = date(1980, 5, 17), serial: int | None = None) -> str:
    """A valid 12-digit personnummer for `born`, unique per call unless `serial` is given."""
    serial = serial if serial is not None else next(_counter) % 1000
    nine = f"{born:%y%m%d}{serial:03d}"
    return f"{born:%Y%m%d}{serial:03d}{luhn_check_digit(nine)}"


def hsa(prefix: str = "SE2321000016") -> str:
    return f"{prefix}-T{next(_counter):05d}"


async def _insert(conn: AsyncConnection, model: type[SQLModel], values: dict[str, Any]) -> Any:
    row = model(**values)
    data = row.model_dump()
    await conn.execute(insert(model.__table__).values(**data))  # type: ignore[attr-defined]
    return row


async def create_provider(conn: AsyncConnection, **kw: Any) -> models.CareProvider:
    values = {
        "hsa_id": hsa(),
        "name": "Region Test",
        "organisation_number": "2321000016",
        "kind": "region",
    } | kw
    return await _insert(conn, models.CareProvider, values)  # type: ignore[no-any-return]


async def create_unit(
    conn: AsyncConnection, provider: models.CareProvider, **kw: Any
) -> models.CareUnit:
    values = {
        "hsa_id": hsa(),
        "name": "Vårdcentral Test",
        "care_provider_id": provider.id,
        "kind": "primary_care",
    } | kw
    return await _insert(conn, models.CareUnit, values)  # type: ignore[no-any-return]


async def create_patient(conn: AsyncConnection, **kw: Any) -> models.Patient:
    born = kw.pop("birth_date", date(1980, 5, 17))
    values = {
        "identifier_kind": "personnummer",
        "identifier": personnummer(born),
        "given_name": "Tolvan",
        "family_name": "Tolvansson",
        "birth_date": born,
        "sex": "female",
    } | kw
    return await _insert(conn, models.Patient, values)  # type: ignore[no-any-return]


def header(patient: models.Patient, unit: models.CareUnit, **kw: Any) -> dict[str, Any]:
    """The clinical header of DOMAIN.md section 1 for a row of `patient` at `unit`."""
    when = kw.pop("event_time", datetime(2024, 3, 1, 9, 30, tzinfo=UTC))
    return {
        "patient_id": patient.id,
        "document_id": f"doc-{uuid.uuid4().hex[:16]}",
        "source_system_hsa_id": "SE2321000016-SRC1",
        "event_time": when,
        "author_time": when,
        "care_provider_id": unit.care_provider_id,
        "care_unit_id": unit.id,
    } | kw


async def create_care_contact(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.CareContact:
    own = {
        k: kw.pop(k) for k in list(kw) if k in {"contact_type", "status", "reason", "period_end"}
    }
    values = header(patient, unit, **kw) | {"contact_type": "besok", "status": "avslutad"} | own
    return await _insert(conn, models.CareContact, values)  # type: ignore[no-any-return]


# --- access control (privacy): practitioners, assignments, relationships, consents, blocks ---

_CLINICAL_DEFAULTS: dict[str, dict[str, Any]] = {
    "care_document": {"document_type": "anteckning", "title": "Besök", "text": "Status ua."},
    "diagnosis": {
        "code": "I10",
        "display": "Essentiell hypertoni",
        "diagnosis_type": "huvuddiagnos",
    },
    "alert": {"alert_type": "hypersensitivity", "description": "Penicillinallergi"},
    "prescription": {
        "drug_npl_id": "19750101100011",
        "atc_code": "J01CE02",
        "drug_name": "Kåvepenin",
        "dosage_text": "1 tablett 3 gånger dagligen",
        "amount": Decimal(1),
        "valid_until": date(2030, 1, 1),
    },
    "municipal_decision": {
        "legal_basis_code": "SOL2025-BISTAND",
        "insats_code": "SOL-HEMTJANST",
        "municipality_code": "0180",
        "applied_on": date(2024, 1, 1),
        "decided_on": date(2024, 1, 15),
        "outcome": "beviljad",
        "case_officer_name": "Handläggare Test",
    },
}


async def create_practitioner(conn: AsyncConnection, **kw: Any) -> models.Practitioner:
    values = {
        "hsa_id": hsa(),
        "given_name": "Doktor",
        "family_name": "Testsson",
        "profession": "läkare",
    } | kw
    return await _insert(conn, models.Practitioner, values)  # type: ignore[no-any-return]


async def create_assignment(
    conn: AsyncConnection, practitioner: models.Practitioner, unit: models.CareUnit, **kw: Any
) -> models.Assignment:
    values = {
        "practitioner_id": practitioner.id,
        "care_unit_id": unit.id,
        "care_provider_id": unit.care_provider_id,
        "role": "lakare",
        "valid_from": date(2020, 1, 1),
    } | kw
    return await _insert(conn, models.Assignment, values)  # type: ignore[no-any-return]


async def create_care_relationship(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.CareRelationship:
    values = {
        "patient_id": patient.id,
        "care_unit_id": unit.id,
        "care_provider_id": unit.care_provider_id,
        "valid_from": datetime(2020, 1, 1, tzinfo=UTC),
    } | kw
    return await _insert(conn, models.CareRelationship, values)  # type: ignore[no-any-return]


async def create_consent(
    conn: AsyncConnection, patient: models.Patient, kind: str, **kw: Any
) -> models.Consent:
    values = {
        "patient_id": patient.id,
        "kind": kind,
        "valid_from": datetime(2020, 1, 1, tzinfo=UTC),
    } | kw
    return await _insert(conn, models.Consent, values)  # type: ignore[no-any-return]


async def create_block(
    conn: AsyncConnection,
    patient: models.Patient,
    kind: str,
    provider: models.CareProvider,
    **kw: Any,
) -> models.Block:
    values = {
        "patient_id": patient.id,
        "kind": kind,
        "care_provider_id": provider.id,
        "placed_at": datetime(2021, 1, 1, tzinfo=UTC),
    } | kw
    return await _insert(conn, models.Block, values)  # type: ignore[no-any-return]


async def create_representative(
    conn: AsyncConnection,
    patient: models.Patient,
    representative: models.Patient,
    kind: str = "guardian",
    **kw: Any,
) -> models.Representative:
    values = {
        "patient_id": patient.id,
        "representative_patient_id": representative.id,
        "kind": kind,
        "valid_from": date(2000, 1, 1),
    } | kw
    return await _insert(conn, models.Representative, values)  # type: ignore[no-any-return]


async def create_research_study(conn: AsyncConnection, **kw: Any) -> models.ResearchStudy:
    values = {
        "name": "Teststudie",
        "ethics_approval_ref": "Dnr 2024-00001-01",
        "approved_on": date(2024, 1, 1),
        "client_id": "research-test",
        # Most tests read records; the model's default (cohort counts only) is tested on its own.
        "allows_record_access": True,
    } | kw
    return await _insert(conn, models.ResearchStudy, values)  # type: ignore[no-any-return]


async def create_clinical(
    conn: AsyncConnection,
    model: type[SQLModel],
    patient: models.Patient,
    unit: models.CareUnit,
    **kw: Any,
) -> Any:
    """Any clinical row (header of DOMAIN.md section 1) with plausible defaults for its table."""
    name = str(model.__tablename__)
    own = dict(_CLINICAL_DEFAULTS.get(name, {}))
    if name == "prescription":
        own["chain_id"] = uuid.uuid4()
    when = {"event_time": kw.pop("event_time")} if "event_time" in kw else {}
    return await _insert(conn, model, header(patient, unit, **when) | own | kw)


# --- one factory per clinical type (schema read side); each returns the model instance ---


_M = TypeVar("_M", bound=SQLModel)


async def create_municipality(
    conn: AsyncConnection, code: str = "0180", name: str = "Stockholm", county_code: str = "01"
) -> str:
    """A municipality (kommun) unless it exists; returns its code."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    table = models.Municipality.__table__  # type: ignore[attr-defined]
    await conn.execute(
        pg_insert(table)
        .values(code=code, name=name, county_code=county_code)
        .on_conflict_do_nothing()
    )
    return code


async def _clinical(
    conn: AsyncConnection,
    model: type[_M],
    patient: models.Patient | uuid.UUID,
    unit: models.CareUnit,
    defaults: dict[str, Any],
    kw: dict[str, Any],
) -> _M:
    """A clinical row: `kw` may override header fields (event_time, nullified, ...) and own ones."""
    if isinstance(patient, uuid.UUID):
        patient = cast(models.Patient, SimpleNamespace(id=patient))  # header() reads only .id
    own = {k: kw.pop(k) for k in list(kw) if k in defaults}
    row: _M = await _insert(conn, model, header(patient, unit, **kw) | defaults | own)
    return row


async def create_care_document(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.CareDocument:
    defaults = {"document_type": "anteckning", "title": "Besök", "text": "Status ua."}
    return await _clinical(conn, models.CareDocument, patient, unit, defaults, kw)


async def create_diagnosis(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.Diagnosis:
    defaults = {"code": "I10", "display": "Essentiell hypertoni", "diagnosis_type": "huvuddiagnos"}
    return await _clinical(conn, models.Diagnosis, patient, unit, defaults, kw)


async def create_alert(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.Alert:
    defaults = {
        "alert_type": "hypersensitivity",
        "description": "Penicillinallergi",
        "agent_atc_code": "J01CE02",
        "severity": "severe",
    }
    return await _clinical(conn, models.Alert, patient, unit, defaults, kw)


async def create_functional_status(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.FunctionalStatus:
    defaults = {"assessment_type": "padl", "icf_code": None, "text": "Klarar av- och påklädning."}
    return await _clinical(conn, models.FunctionalStatus, patient, unit, defaults, kw)


async def create_lab_result(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.LabResult:
    defaults = {
        "order_id": f"lab-{uuid.uuid4().hex[:8]}",
        "code_system": "NPU",
        "code": "NPU01685",
        "name": "P-Kreatinin",
        "value_numeric": Decimal("82"),
        "unit": "µmol/L",
        "interpretation": "normal",
        "reference_low": Decimal("45"),
        "reference_high": Decimal("90"),
    }
    return await _clinical(conn, models.LabResult, patient, unit, defaults, kw)


async def create_referral_outcome(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.ReferralOutcome:
    defaults = {"outcome_type": "slutsvar", "text": "Ingen åtgärd.", "referral_id": "rem-1"}
    return await _clinical(conn, models.ReferralOutcome, patient, unit, defaults, kw)


async def create_referral(
    conn: AsyncConnection,
    patient: models.Patient,
    unit: models.CareUnit,
    recipient: models.CareUnit,
    **kw: Any,
) -> models.Referral:
    defaults = {
        "recipient_unit_id": recipient.id,
        "recipient_provider_id": recipient.care_provider_id,
        "priority": "routine",
        "reason": "Bedömning önskas",
        "question": "Tilltagande besvär.",
        "status": "sent",
        "status_reason": None,
        "outcome_id": None,
    }
    return await _clinical(conn, models.Referral, patient, unit, defaults, kw)


async def create_sip_plan(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.SipPlan:
    defaults = {
        "title": "Samordnad plan",
        "situation": "Behöver insatser från region och kommun.",
        "status": "active",
        "follow_up_on": None,
    }
    return await _clinical(conn, models.SipPlan, patient, unit, defaults, kw)


async def create_sip_parts(
    conn: AsyncConnection, plan: models.SipPlan, unit: models.CareUnit
) -> tuple[models.SipParticipant, models.SipGoal, models.SipAction]:
    """One participant (the unit), goal and action of a plan, written at `unit`."""
    base = {
        "patient_id": plan.patient_id,
        "plan_id": plan.id,
        "written_by_unit_id": unit.id,
        "written_at": plan.event_time,
    }
    who = base | {
        "care_unit_id": unit.id,
        "care_provider_id": unit.care_provider_id,
        "name": "Sara Sköterska",
        "role": "sjuksköterska",
    }
    participant = await _insert(conn, models.SipParticipant, who)
    goal = await _insert(conn, models.SipGoal, base | {"position": 1, "goal": "Bo kvar hemma"})
    action = await _insert(
        conn,
        models.SipAction,
        base
        | {
            "goal_id": goal.id,
            "description": "Läkemedelsöverlämning",
            "responsible_provider_id": unit.care_provider_id,
            "responsible_unit_id": unit.id,
            "status": "planned",
        },
    )
    return participant, goal, action


async def create_referral_event(
    conn: AsyncConnection, referral: models.Referral, **kw: Any
) -> models.ReferralEvent:
    values = {
        "patient_id": referral.patient_id,
        "referral_id": referral.id,
        "status": "sent",
        "occurred_at": referral.event_time,
        "care_unit_id": referral.care_unit_id,
    } | kw
    return await _insert(conn, models.ReferralEvent, values)  # type: ignore[no-any-return]


async def create_discharge_plan(
    conn: AsyncConnection,
    patient: models.Patient,
    unit: models.CareUnit,
    municipal: models.CareUnit,
    **kw: Any,
) -> models.DischargePlan:
    defaults = {
        "municipal_unit_id": municipal.id,
        "municipal_provider_id": municipal.care_provider_id,
        "status": "enrolled",
    }
    return await _clinical(conn, models.DischargePlan, patient, unit, defaults, kw)


async def create_vaccination(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.Vaccination:
    defaults = {"vaccine_name": "Comirnaty", "target_disease": "covid-19", "dose_number": 1}
    return await _clinical(conn, models.Vaccination, patient, unit, defaults, kw)


async def create_vital_signs(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.VitalSigns:
    defaults = {
        "respiration_rate": 16,
        "spo2": 97,
        "hypercapnic_scale": False,
        "supplemental_oxygen": False,
        "systolic_bp": 125,
        "diastolic_bp": 80,
        "pulse": 72,
        "consciousness": "alert",
        "temperature": Decimal("37.0"),
        "news2_score": 0,
        "news2_risk": "low",
    }
    return await _clinical(conn, models.VitalSigns, patient, unit, defaults, kw)


async def create_prescription(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.Prescription:
    defaults = {
        "kind": "recept",
        "status": "aktiv",
        "chain_id": uuid.uuid4(),
        "replaces_id": None,
        "drug_npl_id": "19750101100011",
        "atc_code": "J01CE02",
        "drug_name": "Kåvepenin",
        "dosage_text": "1 tablett 3 gånger dagligen",
        "amount": Decimal(1),
        "valid_until": date(2030, 1, 1),
    }
    return await _clinical(conn, models.Prescription, patient, unit, defaults, kw)


async def create_dispensation(
    conn: AsyncConnection,
    prescription: models.Prescription,
    pharmacy: models.CareUnit,
    **kw: Any,
) -> models.Dispensation:
    defaults = {
        "prescription_id": prescription.id,
        "amount": Decimal(1),
        "article_name": prescription.drug_name,
        "reverses_id": None,
    }
    return await _clinical(
        conn, models.Dispensation, prescription.patient_id, pharmacy, defaults, kw
    )


async def create_medication_administration(
    conn: AsyncConnection,
    prescription: models.Prescription,
    unit: models.CareUnit,
    **kw: Any,
) -> models.MedicationAdministration:
    defaults = {
        "prescription_id": prescription.id,
        "outcome": "given",
        "planned_at": None,
        "dose_text": "1 tablett",
        "not_given_reason": None,
    }
    return await _clinical(
        conn, models.MedicationAdministration, prescription.patient_id, unit, defaults, kw
    )


async def create_dental_treatment(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.DentalTreatment:
    defaults = {
        "condition_code": "3041",
        "procedure_code": "101",
        "procedure_text": "Basundersökning",
        "tooth": None,
        "price_sek": Decimal("1000.00"),
    }
    return await _clinical(conn, models.DentalTreatment, patient, unit, defaults, kw)


async def create_tooth_finding(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.ToothFinding:
    defaults = {"tooth": "36", "surface": "O", "finding_code": "K02", "finding_text": "Karies"}
    return await _clinical(conn, models.ToothFinding, patient, unit, defaults, kw)


async def create_municipal_decision(
    conn: AsyncConnection, patient: models.Patient, unit: models.CareUnit, **kw: Any
) -> models.MunicipalDecision:
    municipality = await create_municipality(conn, kw.pop("municipality_code", "0180"))
    defaults = {
        "legal_basis_code": "SOL2025-BISTAND",
        "insats_code": "SOL-HEMTJANST",
        "municipality_code": municipality,
        "applied_on": date(2024, 1, 1),
        "decided_on": date(2024, 1, 15),
        "outcome": "beviljad",
        "case_officer_name": "Handläggare Test",
        "extent_amount": Decimal("12"),
        "extent_unit": "hours_per_week",
    }
    return await _clinical(conn, models.MunicipalDecision, patient, unit, defaults, kw)


async def create_implementation_plan(
    conn: AsyncConnection,
    decision: models.MunicipalDecision,
    unit: models.CareUnit,
    **kw: Any,
) -> models.ImplementationPlan:
    defaults = {"decision_id": decision.id, "goals": "Bo kvar hemma.", "follow_up_on": None}
    return await _clinical(conn, models.ImplementationPlan, decision.patient_id, unit, defaults, kw)


async def create_plan_activity(
    conn: AsyncConnection, plan: models.ImplementationPlan, position: int = 1, **kw: Any
) -> models.PlanActivity:
    values = {
        "patient_id": plan.patient_id,
        "plan_id": plan.id,
        "position": position,
        "goal": "Dusch två gånger i veckan",
        "description": "Hjälp med dusch",
        "responsible": "Hemtjänstgrupp Norr",
        "when_how": "Tisdag och fredag förmiddag",
    } | kw
    activity: models.PlanActivity = await _insert(conn, models.PlanActivity, values)
    return activity


async def create_nested_record(
    conn: AsyncConnection,
    patient: models.Patient,
    unit: models.CareUnit,
    pharmacy: models.CareUnit,
    *,
    contacts: int = 2,
) -> dict[str, list[Any]]:
    """A small record: contacts with a diagnosis each, a prescription with a dispensation, an
    alert. Returns the created rows by kind."""
    made: dict[str, list[Any]] = {"CareContact": [], "Diagnosis": []}
    for i in range(contacts):
        when = datetime(2024, 1, 1 + i, 9, 0, tzinfo=UTC)
        contact = await create_care_contact(conn, patient, unit, event_time=when)
        made["CareContact"].append(contact)
        made["Diagnosis"].append(
            await create_diagnosis(conn, patient, unit, care_contact_id=contact.id, event_time=when)
        )
    rx = await create_prescription(conn, patient, unit, event_time=datetime(2024, 2, 1, tzinfo=UTC))
    made["Prescription"] = [rx]
    made["Dispensation"] = [
        await create_dispensation(conn, rx, pharmacy, event_time=datetime(2024, 2, 2, tzinfo=UTC))
    ]
    made["Alert"] = [
        await create_alert(conn, patient, unit, event_time=datetime(2023, 6, 1, tzinfo=UTC))
    ]
    return made


async def create_portal_exception(
    conn: AsyncConnection, patient: models.Patient, kind: str, unit: models.CareUnit, **kw: Any
) -> models.PortalException:
    """An A10 exception for `unit`'s records, granted by its head (in force since 2020)."""
    values = {
        "patient_id": patient.id,
        "kind": kind,
        "care_provider_id": unit.care_provider_id,
        "care_unit_id": unit.id,
        "granted_by_hsa_id": hsa(),
        "reason": "Barnet har uppnått tillräcklig mognad",
        "valid_from": datetime(2020, 1, 1, tzinfo=UTC),
    } | kw
    return await _insert(conn, models.PortalException, values)  # type: ignore[no-any-return]


async def create_unit_head(
    conn: AsyncConnection, unit: models.CareUnit, **kw: Any
) -> models.Practitioner:
    """A practitioner with an active assignment as head of `unit` (verksamhetschef)."""
    head = await create_practitioner(conn, **kw)
    await create_assignment(conn, head, unit, role="verksamhetschef")
    return head
