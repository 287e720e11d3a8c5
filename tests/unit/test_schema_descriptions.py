"""Every type, field, argument, input field and enum value of the public schema is described
(walked by introspection, so it holds for whatever is added later)."""

from __future__ import annotations

from typing import Any

from schema import schema

INTROSPECTION = """
{ __schema { types {
    name kind description
    fields(includeDeprecated: true) { name description args { name description } }
    inputFields { name description }
    enumValues(includeDeprecated: true) { name description }
} } }
"""
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def _missing() -> list[str]:
    result = schema.execute_sync(INTROSPECTION)
    assert result.errors is None
    assert result.data is not None
    missing: list[str] = []
    for t in result.data["__schema"]["types"]:
        name = t["name"]
        if name.startswith("__") or name in BUILT_IN:
            continue
        if not (t["description"] or "").strip():
            missing.append(name)
        members: list[dict[str, Any]] = (
            (t["fields"] or []) + (t["inputFields"] or []) + (t["enumValues"] or [])
        )
        for member in members:
            where = f"{name}.{member['name']}"
            if not (member["description"] or "").strip():
                missing.append(where)
            for arg in member.get("args") or []:
                if not (arg["description"] or "").strip():
                    missing.append(f"{where}({arg['name']})")
    return missing


def test_everything_is_described() -> None:
    assert _missing() == []


def test_the_walk_sees_the_whole_schema() -> None:
    """Guard against a walk that checks nothing: it must visit the read side's types."""
    result = schema.execute_sync(INTROSPECTION)
    assert result.data is not None
    names = {t["name"] for t in result.data["__schema"]["types"]}
    assert {"Patient", "CareEvent", "CareContactConnection", "ContactType", "PageInfo"} <= names
