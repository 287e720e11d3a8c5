"""The import's validator validates each distinct extension once (when the fast path leaves a
resource to fhir.resources: `fast=False` here) and gives the same models and the same problems,
at the same paths, as plain `validate`. The fast path itself: test_fhir_fastpath.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.fhir.r4 import InvalidResource, Validator, validate

UNIT = {
    "url": "https://vardkedja.se/fhir/StructureDefinition/care-unit",
    "valueReference": {"reference": "Organization/unit-1"},
}


def observation(*extensions: Any, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "extension": list(extensions),
    } | more


def test_the_same_models_as_plain_validation() -> None:
    check = Validator(fast=False)
    weight = {"url": "urn:weight", "valueDecimal": Decimal("6.30")}
    for data in (observation(UNIT, weight), observation(UNIT, weight), observation(weight)):
        assert check(data) == validate(data)
    # Each distinct extension was validated once, by its exact JSON.
    assert len(check._extensions) == 2
    written_otherwise = {"url": "urn:weight", "valueDecimal": Decimal("6.3")}
    check(observation(written_otherwise))
    assert len(check._extensions) == 3


@pytest.mark.parametrize(
    "bad",
    [
        {"url": "urn:flag", "valueBoolean": "not a boolean"},
        {"url": "urn:two", "valueString": "a", "valueCode": "b"},  # one value[x] only
        "not an object",
    ],
)
def test_an_invalid_extension_is_reported_where_it_is(bad: Any) -> None:
    check = Validator(fast=False)
    check(observation(UNIT))  # the valid one is known already
    with pytest.raises(InvalidResource) as ours:
        check(observation(UNIT, bad))
    with pytest.raises(InvalidResource) as plain:
        validate(observation(UNIT, bad))
    assert ours.value.problems == plain.value.problems
    assert any(p.path.startswith("Observation.extension[1]") for p in ours.value.problems)


def test_a_known_extension_does_not_hide_other_problems() -> None:
    check = Validator(fast=False)
    check(observation(UNIT))
    with pytest.raises(InvalidResource) as found:
        check(observation(UNIT, issued="not an instant"))
    assert [p.path for p in found.value.problems] == ["Observation.issued"]


def test_the_fast_path_gives_the_same_models_and_problems() -> None:
    check = Validator()
    weight = {"url": "urn:weight", "valueDecimal": Decimal("6.30")}
    data = observation(UNIT, weight)
    assert check(data) == validate(data)
    assert str(check(data).extension[1].valueDecimal) == "6.30"
    assert not check._extensions  # the fast path took it
    bad = observation(UNIT, issued="not an instant")
    with pytest.raises(InvalidResource) as ours:
        check(bad)
    with pytest.raises(InvalidResource) as plain:
        validate(bad)
    assert ours.value.problems == plain.value.problems
