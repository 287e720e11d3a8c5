"""What the no-silent-loss benchmark counts with: every primitive of a resource (not our id or
version), whether a path lies inside a reported one, and which exported resource an original
became (two systems may use the same identifier value)."""

from __future__ import annotations

from typing import Any

from app.fhir.preserve import closest_losses, leaf_paths, within

MRN = "urn:oid:1.2.36.146.595.217.0.1"


def patient(system: str, family: str, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": system, "value": "12345"}],
        "name": [{"family": family, "given": ["Peter", "James"]}],
    } | more


def test_every_primitive_but_ours() -> None:
    data = patient(MRN, "Chalmers", id="example", meta={"versionId": "2", "profile": ["p"]})
    assert sorted(leaf_paths(data)) == [
        "Patient.identifier[0].system",
        "Patient.identifier[0].value",
        "Patient.meta.profile[0]",
        "Patient.name[0].family",
        "Patient.name[0].given[0]",
        "Patient.name[0].given[1]",
    ]


def test_within_a_reported_path() -> None:
    reported = {"Patient.name[1]", "Patient.address[0]"}
    assert within("Patient.name[1].given[0]", reported)
    assert within("Patient.address[0]", reported)
    assert not within("Patient.name[10].family", reported)
    assert not within("Patient.address[0]x", reported)


def test_the_same_identifier_of_another_system_is_another_record() -> None:
    original = patient(MRN, "Chalmers")
    other = patient("urn:oid:2.16.840.1.113883.19.5", "Doe")
    assert closest_losses(original, [other, original]) == []
    # Only the other system's record: it is compared by value (a document id under our system).
    losses = closest_losses(original, [other])
    assert losses is not None and {loss.path for loss in losses} == {
        "Patient.identifier[0].system",
        "Patient.name[0].family",
    }
    assert closest_losses(original, [{"resourceType": "Observation"}]) is None
