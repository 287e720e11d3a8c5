"""Validation results are kept by the identity of the parsed document (schema/limits.py): a
repeated query (the same parsed object) is validated once, without hashing its syntax tree;
another object, even an equal one, is validated on its own."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse, specified_rules

from schema import limits
from schema import schema as public


def test_the_same_document_is_validated_once_and_an_equal_copy_anew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import strawberry.schema.schema as strawberry_schema

    runs: list[Any] = []
    real = strawberry_schema.validate_document

    def counted(*args: Any) -> Any:
        runs.append(args[1])
        return real(*args)

    monkeypatch.setattr(strawberry_schema, "validate_document", counted)
    gql, rules = public._schema, tuple(specified_rules)
    document = parse('{ patient(personnummer: "191212121212") { familyName nope } }')
    first = limits._validate(gql, document, rules)
    again = limits._validate(gql, document, rules)
    assert again is first and runs == [document]
    assert any("nope" in e.message for e in first)
    copy = parse('{ patient(personnummer: "191212121212") { familyName nope } }')
    assert copy == document and copy is not document
    assert [e.message for e in limits._validate(gql, copy, rules)] == [e.message for e in first]
    assert runs == [document, copy]
