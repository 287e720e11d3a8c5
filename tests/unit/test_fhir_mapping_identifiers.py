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


def test_a_foreign_identifier_is_external_never_a_reservnummer() -> None:
    data = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": "738472983"}],
        "name": [{"family": "van de Heuvel", "given": ["Pieter"]}],
        "birthDate": "1944-11-17",
    }
    resource = validate(data)
    row = patients.patient_from_fhir(resource, DictResolver())
    assert (row["identifier_kind"], row["identifier"], row["reserve_issuer"]) == (
        "external",
        "738472983",
        None,
    )
    assert row["sex"] == "unknown"
    identity = patients.patient_identity(resource)
    assert identity.swedish == {}
    assert identity.pairs() == [("urn:oid:2.16.840.1.113883.2.4.6.3", "738472983")]
    rows = patients.identifier_rows("p", identity, ("external", "738472983"))
    assert [(r["system"], r["value"]) for r in rows] == identity.pairs()


@pytest.mark.parametrize(
    ("system", "kind", "value", "canonical"),
    [
        (
            "http://electronichealth.se/identifier/personnummer",
            "personnummer",
            "191212121212",
            "urn:oid:1.2.752.129.2.1.3.1",
        ),
        (
            "http://electronichealth.se/identifier/samordningsnummer",
            "samordningsnummer",
            "197010632391",
            "urn:oid:1.2.752.129.2.1.3.3",
        ),
        (
            "http://electronichealth.se/identifier/nationelltReservnummer",
            "reservnummer",
            "98240301AA06",
            "urn:oid:1.2.752.129.2.1.3.2",
        ),
        ("urn:oid:1.2.752.129.2.1.3.2", "reservnummer", "98240301AA06", None),
        ("urn:oid:1.2.752.129.2.1.3.1", "personnummer", "191212121212", None),
    ],
)
def test_hl7_sweden_uris_name_the_same_identifiers_as_the_oids(
    system: str, kind: str, value: str, canonical: str | None
) -> None:
    data = {"resourceType": "Patient", "identifier": [{"system": system, "value": value}]}
    identity = patients.patient_identity(validate(data))
    assert identity.pairs() == [(canonical or system, value)]
    assert patients.patient_key(validate(data))[:2] == (kind, value)


def test_a_national_reservnummer_round_trips_under_its_oid() -> None:
    data = {
        "resourceType": "Patient",
        "identifier": [
            {
                "system": "http://electronichealth.se/identifier/nationelltReservnummer",
                "value": "98240301AA06",
            }
        ],
        "name": [{"family": "Efternamn", "given": ["Förnamn"]}],
        "birthDate": "2024-03-01",
    }
    row = patients.patient_from_fhir(validate(data), DictResolver())
    assert row["reserve_issuer"] == "urn:oid:1.2.752.129.2.1.3.2"
    out = patients.patient_to_fhir(SAMPLES["patient"] | row | {"identifiers": []})
    assert out["identifier"] == [{"system": "urn:oid:1.2.752.129.2.1.3.2", "value": "98240301AA06"}]


def test_two_values_of_one_swedish_kind_are_an_error() -> None:
    data = {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:oid:1.2.752.129.2.1.3.1", "value": "191212121212"},
            {
                "system": "http://electronichealth.se/identifier/personnummer",
                "value": "195009072553",
            },
        ],
    }
    with pytest.raises(MappingError) as error:
        patients.patient_identity(validate(data))
    assert error.value.problem.path == "Patient.identifier[1]"


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


def test_organisationsnummer_and_profile_as_se_base_organization() -> None:
    data = organizations.provider_to_fhir(SAMPLES["care_provider"])
    assert data["meta"]["profile"] == [
        "http://hl7.se/fhir/ig/base/StructureDefinition/SEBaseOrganization"
    ]
    hsa_id, number = data["identifier"]
    assert hsa_id["type"]["coding"][0]["code"] == "PRN"
    assert (number["system"], number["type"]["coding"][0]["code"]) == ("urn:oid:2.5.4.97", "XX")
    assert number["value"] == SAMPLES["care_provider"]["organisation_number"]
    assert (
        organizations.unit_to_fhir(SAMPLES["care_unit"])["meta"]["profile"]
        == (data["meta"]["profile"])
    )
    # Our earlier system is still read.
    data["identifier"][1] = {
        "system": "https://vardkedja.se/fhir/sid/organisationsnummer",
        "value": number["value"],
    }
    row = organizations.provider_from_fhir(validate(data), DictResolver())
    assert row["organisation_number"] == number["value"]


def test_sekretessmarkering_is_read_from_meta_security() -> None:
    data = patients.patient_to_fhir(SAMPLES["patient"] | {"protected_identity": False})
    assert "security" not in data["meta"]
    data["extension"] = []
    data["meta"]["security"] = [
        {
            "system": "http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel",
            "code": "sekretessmarkering",
        }
    ]
    assert patients.patient_from_fhir(validate(data), DictResolver())["protected_identity"]
    data["meta"]["security"][0]["code"] = "skyddadFolkbokforing"
    assert patients.patient_from_fhir(validate(data), DictResolver())["protected_identity"]
    data["meta"]["security"][0]["system"] = "http://example.org/labels"
    assert not patients.patient_from_fhir(validate(data), DictResolver())["protected_identity"]


def test_lab_quantities_carry_ucum_where_the_unit_has_a_code() -> None:
    from app.fhir.mapping import care
    from app.fhir.mapping.ucum import ucum_code

    data = care.lab_result_to_fhir(SAMPLES["lab_result"] | {"unit": "µmol/L"})
    assert data["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert (data["valueQuantity"]["unit"], data["valueQuantity"]["code"]) == ("µmol/L", "umol/L")
    for bound in data.get("referenceRange", [{}])[0].values():
        assert bound["code"] == "umol/L"
    assert care.lab_result_from_fhir(validate(data), DictResolver())["unit"] == "µmol/L"
    assert ucum_code("10^9/L") == "10*9/L" and ucum_code("mIE/L") == "m[IU]/L"
    assert ucum_code("INR") is None  # no code is claimed for a unit we cannot vouch for
    plain = care.lab_result_to_fhir(SAMPLES["lab_result"] | {"unit": "INR"})
    assert plain["valueQuantity"] == {
        "value": SAMPLES["lab_result"]["value_numeric"],
        "unit": "INR",
    }


def test_care_plan_names_its_decision_as_r4_allows() -> None:
    from app.fhir.mapping import municipal

    plan = SAMPLES["implementation_plan"]
    data = municipal.plan_to_fhir(plan, None, [])
    assert "basedOn" not in data  # R4: CarePlan.basedOn is Reference(CarePlan) only
    assert data["supportingInfo"] == [{"reference": f"ServiceRequest/{plan['decision_id']}"}]
    resolver = DictResolver()
    assert municipal.plan_from_fhir(validate(data), resolver)["decision_id"] == plan["decision_id"]
    # Exports written before still import.
    data["basedOn"] = data.pop("supportingInfo")
    assert municipal.plan_from_fhir(validate(data), resolver)["decision_id"] == plan["decision_id"]
