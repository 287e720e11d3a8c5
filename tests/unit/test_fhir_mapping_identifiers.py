"""Identifiers and dispatch: the Swedish OIDs of DOMAIN.md section 6 as HL7 Sweden writes them,
foreign identifiers, and which resources find a table."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.fhir.mapping import organizations, patients
from app.fhir.mapping.registry import kind_of
from app.fhir.ndjson import import_order
from app.fhir.r4 import MappingError, Unsupported, validate
from tests.fixtures.fhir.rows import SAMPLES, DictResolver

HSA = "urn:oid:1.2.752.29.4.19"


def test_personnummer_and_samordningsnummer_systems() -> None:
    pnr = patients.patient_to_fhir(SAMPLES["patient"])
    assert pnr["identifier"] == [{"system": "urn:oid:1.2.752.129.2.1.3.1", "value": "191212121212"}]
    samordning = SAMPLES["patient"] | {
        "identifier_kind": "samordningsnummer",
        "identifier": "197010632391",
    }
    data = patients.patient_to_fhir(samordning)
    assert data["identifier"][0]["system"] == "urn:oid:1.2.752.129.2.1.3.3"
    assert patients.patient_key(validate(data))[:2] == ("samordningsnummer", "197010632391")


def test_hsa_ids_use_the_fhir_oid() -> None:
    for data in (
        organizations.provider_to_fhir(SAMPLES["care_provider"]),
        organizations.unit_to_fhir(SAMPLES["care_unit"]),
        organizations.practitioner_to_fhir(SAMPLES["practitioner"]),
    ):
        assert data["identifier"][0]["system"] == HSA


def test_ten_digit_personnummer_is_normalised_and_checked() -> None:
    data = patients.patient_to_fhir(SAMPLES["patient"])
    data["identifier"][0]["value"] = "121212-1212"
    assert patients.patient_key(validate(data))[1] == "201212121212"
    data["identifier"][0]["value"] = "121212-1213"
    with pytest.raises(MappingError) as error:
        patients.patient_key(validate(data))
    assert error.value.problem.path == "Patient.identifier[0].value"


def test_a_foreign_identifier_becomes_a_reservnummer_of_its_system() -> None:
    data = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": "738472983"}],
        "name": [{"family": "van de Heuvel", "given": ["Pieter"]}],
        "birthDate": "1944-11-17",
    }
    row = patients.patient_from_fhir(validate(data), DictResolver())
    assert (row["identifier_kind"], row["identifier"], row["reserve_issuer"]) == (
        "reservnummer",
        "738472983",
        "urn:oid:2.16.840.1.113883.2.4.6.3",
    )
    assert row["sex"] == "unknown"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"resourceType": "Goal"}, "Goal is not stored"),
        (
            {"resourceType": "Observation", "category": [{"coding": [{"code": "vital-signs"}]}]},
            "lab",
        ),
    ],
)
def test_unsupported_resources_say_why(data: dict[str, object], reason: str) -> None:
    with pytest.raises(Unsupported) as error:
        kind_of(data)
    assert reason in error.value.reason


def test_a_snomed_condition_is_unsupported_content() -> None:
    data = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/x"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "39065001"}]},
    }
    with pytest.raises(Unsupported, match="ICD-10"):
        kind_of(data).from_fhir(validate(data), DictResolver())


def test_organization_levels() -> None:
    assert kind_of({"resourceType": "Organization", "partOf": {"reference": "x"}}).table == (
        "care_unit"
    )
    assert kind_of({"resourceType": "Organization"}).table == "care_provider"
    municipality = organizations.municipality_to_fhir(SAMPLES["municipality"])
    assert kind_of(municipality).table == "municipality"


def test_ndjson_files_are_imported_in_dependency_order() -> None:
    names = ["Observation.ndjson", "extra.ndjson", "Patient.ndjson", "Organization.ndjson"]
    ordered = [p.name for p in import_order([Path(n) for n in names])]
    assert ordered == [
        "Organization.ndjson",
        "Patient.ndjson",
        "Observation.ndjson",
        "extra.ndjson",
    ]
