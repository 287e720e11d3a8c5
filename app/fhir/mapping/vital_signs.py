"""Vital signs as one FHIR Observation (category vital-signs): each NEWS2 parameter is a
component, LOINC coded where LOINC has a code; the value is the NEWS2 score and the
interpretation its risk. On import the score is computed again from the components, so a
stored score always follows from the stored parameters."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from app.fhir.mapping.care import OBSERVATION_CATEGORY, _observation_header
from app.fhir.mapping.common import (
    LOINC,
    Resolver,
    Row,
    code_in,
    code_system,
    coding,
    concept,
    instant,
)
from app.fhir.mapping.header import header_to_fhir, practitioner_ref
from app.fhir.r4 import FhirJson, MappingError
from app.news2 import Consciousness, VitalSigns, news2

UCUM = "http://unitsofmeasure.org"
PANEL = "85353-1"  # Vital signs, weight, height, head circumference, O2 saturation & BMI panel
PARAMETER = code_system("news2-parameter")
ACVPU = code_system("acvpu")
RISK = code_system("news2-risk")
# column -> (LOINC code, display, UCUM unit)
MEASURED = {
    "respiration_rate": ("9279-1", "Respiratory rate", "/min"),
    "spo2": ("59408-5", "Oxygen saturation by pulse oximetry", "%"),
    "systolic_bp": ("8480-6", "Systolic blood pressure", "mm[Hg]"),
    "diastolic_bp": ("8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "pulse": ("8867-4", "Heart rate", "/min"),
    "temperature": ("8310-5", "Body temperature", "Cel"),
}


def vital_signs_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("Observation", row)
    out["status"] = "entered-in-error" if row["nullified"] else "final"
    out["category"] = [concept(OBSERVATION_CATEGORY, "vital-signs")]
    out["code"] = {
        "coding": [coding(LOINC, PANEL, "Vital signs panel"), coding(PARAMETER, "news2")],
        "text": "NEWS2",
    }
    out["effectiveDateTime"] = instant(row["event_time"])
    out["issued"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["performer"] = [who]
    out["valueInteger"] = row["news2_score"]
    out["interpretation"] = [concept(RISK, row["news2_risk"])]
    components: list[FhirJson] = []
    for column, (code, display, unit) in MEASURED.items():
        if row[column] is not None:
            quantity = {"value": row[column], "unit": unit, "system": UCUM, "code": unit}
            components.append({"code": concept(LOINC, code, display), "valueQuantity": quantity})
    components.append(
        {
            "code": concept(PARAMETER, "consciousness"),
            "valueCodeableConcept": concept(ACVPU, row["consciousness"]),
        }
    )
    for name, column in (
        ("supplemental-oxygen", "supplemental_oxygen"),
        ("hypercapnic-scale", "hypercapnic_scale"),
    ):
        components.append({"code": concept(PARAMETER, name), "valueBoolean": row[column]})
    out["component"] = components
    return out


def vital_signs_from_fhir(resource: Any, resolver: Resolver) -> Row:
    row = _observation_header(resource, resolver)
    measured: dict[str, Any] = {}
    flags: dict[str, bool] = {}
    consciousness: str | None = None
    for component in resource.component or []:
        loinc = code_in(component.code, LOINC)
        own = code_in(component.code, PARAMETER)
        if loinc is not None:
            column = next((c for c, (code, *_) in MEASURED.items() if code == loinc.code), None)
            if column is not None and component.valueQuantity is not None:
                measured[column] = component.valueQuantity.value
        elif own is not None and own.code == "consciousness":
            found = code_in(component.valueCodeableConcept, ACVPU)
            consciousness = str(found.code) if found is not None else None
        elif own is not None and component.valueBoolean is not None:
            flags[str(own.code)] = bool(component.valueBoolean)
    needed = ("respiration_rate", "spo2", "systolic_bp", "pulse", "temperature")
    if any(measured.get(c) is None for c in needed) or consciousness is None:
        raise MappingError("Observation.component", "NEWS2 needs every parameter")
    try:
        level = Consciousness(consciousness)
    except ValueError:
        raise MappingError("Observation.component", f"unknown ACVPU {consciousness}") from None
    integers = {c: int(measured[c]) for c in ("respiration_rate", "spo2", "systolic_bp", "pulse")}
    signs = VitalSigns(
        **integers,
        hypercapnic_scale=flags.get("hypercapnic-scale", False),
        supplemental_oxygen=flags.get("supplemental-oxygen", False),
        consciousness=level,
        temperature=Decimal(str(measured["temperature"])),
    )
    score = news2(signs)
    diastolic = measured.get("diastolic_bp")
    row.update(
        **integers,
        hypercapnic_scale=signs.hypercapnic_scale,
        supplemental_oxygen=signs.supplemental_oxygen,
        diastolic_bp=int(diastolic) if diastolic is not None else None,
        consciousness=level.value,
        temperature=signs.temperature,
        news2_score=score.score,
        news2_risk=score.risk.value,
    )
    return row
