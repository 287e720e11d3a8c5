"""The import's fast path (app/fhir/fastpath.py) against fhir.resources, differentially: over
HL7's R4 examples, our own exports (a seeded population's NDJSON and every mapping's fully
filled row) and thousands of invalid variations of them, `build` either leaves the resource to
fhir.resources (None) or gives exactly the model fhir.resources gives (same classes, values,
value types, fields set), and it never accepts what fhir.resources rejects."""

from __future__ import annotations

import random
from collections.abc import Iterator
from copy import deepcopy
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import app.models  # noqa: F401  (registers the tables)
from app.fhir import fastpath
from app.fhir.mapping.registry import kind_of_row
from app.fhir.r4 import InvalidResource, Validator, dumps, loads, model_class, validate
from tests.fixtures.fhir.rows import SAMPLES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fhir"


def hl7_examples() -> list[dict[str, Any]]:
    return [loads(p.read_bytes()) for p in sorted((FIXTURES / "hl7").glob("*.json"))]


def our_exports() -> list[dict[str, Any]]:
    lines = (FIXTURES / "export-sample.ndjson").read_text().splitlines()
    seeded = [loads(line) for line in lines if line.strip()]
    rows = [
        loads(dumps(kind_of_row(table, row).to_fhir(row, None))) for table, row in SAMPLES.items()
    ]
    return seeded + rows


def difference(ours: Any, theirs: Any, path: str = "$") -> str | None:
    """Where two validated values differ, in value or in type (1 is not True, 6.30 not 6.3)."""
    if type(ours) is not type(theirs):
        return f"{path}: {type(ours).__name__} != {type(theirs).__name__}"
    if isinstance(ours, BaseModel):
        if ours.model_fields_set != theirs.model_fields_set:
            return f"{path}: fields set {ours.model_fields_set} != {theirs.model_fields_set}"
        if (ours.__pydantic_extra__, ours.__pydantic_private__) != (
            theirs.__pydantic_extra__,
            theirs.__pydantic_private__,
        ):
            return f"{path}: extra or private attributes"
        if list(ours.__dict__) != list(theirs.__dict__):
            return f"{path}: fields {list(ours.__dict__)} != {list(theirs.__dict__)}"
        for key, value in ours.__dict__.items():
            found = difference(value, theirs.__dict__[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(ours, list):
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} items != {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            found = difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(ours, Decimal | datetime | date | time):
        same = str(ours) == str(theirs) and getattr(ours, "tzinfo", None) == getattr(
            theirs, "tzinfo", None
        )
        return None if same else f"{path}: {ours!r} != {theirs!r}"
    return None if ours == theirs else f"{path}: {ours!r} != {theirs!r}"


def fhir_resources(data: dict[str, Any]) -> Any:
    """fhir.resources' model of `data`, or its ValidationError."""
    try:
        return model_class(data["resourceType"]).model_validate(data)
    except ValidationError as exc:
        return exc


def check(data: dict[str, Any]) -> bool:
    """Asserts that the fast path agrees with fhir.resources on `data`; whether it took it."""
    built = fastpath.build(model_class(data["resourceType"]), data)
    if built is None:
        return False
    theirs = fhir_resources(data)
    assert not isinstance(theirs, ValidationError), (
        f"the fast path accepted what fhir.resources rejects: {theirs}\n{data}"
    )
    found = difference(built, theirs)
    assert found is None, found
    return True


def test_valid_resources_give_the_same_models() -> None:
    resources = hl7_examples() + our_exports()
    taken = [check(r) for r in resources]
    # It is a fast path only if it takes them: all of ours, and most of HL7's.
    assert all(taken[len(hl7_examples()) :])
    assert sum(taken) >= len(resources) - 3


# ---------------------------------------------------------------------- invalid variations


def nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every element (its path of keys and indexes, and its value) of a resource's JSON."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from nodes(item, (*path, i))


def replaced(data: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    out = deepcopy(data)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return out


DELETE = object()
BAD_PRIMITIVES: list[Any] = [
    None,
    "",
    " ",
    "2020-13-01",
    "2020-02-30T10:00:00Z",
    "2020-01-01T10:00:00",  # a time without a zone
    "2020-01-01T24:00:00Z",
    "not a date",
    "a\u0000b",
    "x" * 70,  # longer than an id may be
    "white space",
    True,
    0,
    -1,
    2**40,
    Decimal("1.5"),
    Decimal("NaN"),
    ["a"],
    {},
    {"value": "x"},
    [],
    [None],
]


def variations(data: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    """Invalid (or suspicious) versions of a resource: every element removed, replaced by the
    wrong kind of value, by a null or by a bad primitive; unknown elements, `_primitive`
    siblings, repeated value[x] choices, objects where lists belong and lists where objects do,
    empty and null-holding lists."""
    for path, value in list(nodes(data))[1:]:
        key = path[-1]
        yield replaced(data, path, DELETE) if isinstance(key, str) else replaced(data, path, None)
        for bad in rng.sample(BAD_PRIMITIVES, 4):
            yield replaced(data, path, bad)
        if isinstance(value, list):
            yield replaced(data, path, value[0])  # one where a list belongs
            yield replaced(data, path, [*value, None])
        if isinstance(value, dict):
            yield replaced(data, path, [value])  # a list where one belongs
            yield replaced(data, path, value | {"unknownElement": "x"})
            yield replaced(data, path, value | {"resourceType": "Patient"})
        if isinstance(key, str) and not isinstance(value, dict | list):
            yield replaced(data, (*path[:-1], f"_{key}"), {"id": "x"})
            if key.startswith("value") and key != "value":
                other = "valueBoolean" if key != "valueBoolean" else "valueString"
                twice = {"valueBoolean": True, "valueString": "x"}[other]
                yield replaced(data, (*path[:-1], other), twice)
        if isinstance(key, str) and key.startswith("effective"):
            yield replaced(data, (*path[:-1], "effectivePeriod"), {"start": "2020"})
    other_type = "Observation" if data["resourceType"] != "Observation" else "Patient"
    yield data | {"resourceType": other_type}
    yield data | {"contained": [{"resourceType": "Patient", "id": "p"}]}


@pytest.mark.parametrize("source", ["hl7", "ours"])
def test_nothing_invalid_is_accepted(source: str) -> None:
    rng = random.Random(12)
    resources = hl7_examples() if source == "hl7" else our_exports()
    if source == "ours":
        resources = rng.sample(resources, 24)
    tried = taken = 0
    for data in resources:
        for variant in variations(data, rng):
            resource_type = variant.get("resourceType")
            cls = model_class(data["resourceType"])
            built = fastpath.build(cls, variant)
            tried += 1
            if built is None:
                continue
            taken += 1
            assert resource_type == data["resourceType"]
            theirs = fhir_resources(variant)
            assert not isinstance(theirs, ValidationError), (
                f"the fast path accepted what fhir.resources rejects: {theirs}\n{variant}"
            )
            found = difference(built, theirs)
            assert found is None, found
    # The variations exercised both sides: many taken (still valid), many left.
    assert tried > 1000
    assert 0 < taken < tried


def test_the_validator_reports_what_fhir_resources_reports() -> None:
    """Through the importer's Validator, an invalid resource fails with fhir.resources' own
    problems (the fast path leaves it), and a valid one gives fhir.resources' model."""
    check_ = Validator()
    rng = random.Random(4)
    for data in rng.sample(our_exports(), 10) + hl7_examples():
        assert difference(check_(data), validate(data)) is None
        for variant in list(variations(data, rng))[:60]:
            try:
                plain = validate(variant)
            except InvalidResource as exc:
                with pytest.raises(InvalidResource) as ours:
                    check_(variant)
                assert ours.value.problems == exc.problems
                continue
            assert difference(check_(variant), plain) is None
