"""Error messages of research answers (A15) carry no real identifier, personnummer or name.

An error message may echo what was asked (graphql-core quotes a value it cannot coerce, a
resolver names an id it could not read), and so could carry a real id, a personnummer or a
name. For a research client every message and every string in `extensions` (except `code`)
is rewritten before it leaves:
- a quoted value ("..." or '...') stays only if it is a name of the schema (a type, field,
  argument or enum value), so that validation errors still point at what was misspelt;
- UUIDs and global ids become the study's pseudonyms, HSA-id-like values keyed pseudonyms;
- any run of six or more digits (a personnummer, an organisation number) is withheld.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any

from graphql import GraphQLSchema, is_enum_type, is_input_object_type, is_object_type

from app.errors import BadInput
from schema.ids import decode_id

WITHHELD = "[withheld]"
QUOTED = re.compile(r"\"([^\"]*)\"|'([^']*)'")
UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
HSA_ID = re.compile(r"\b[A-Z]{2}\d{10}-[A-Za-z0-9]+\b")
BASE64_TOKEN = re.compile(r"[A-Za-z0-9_-]{12,}={0,2}")
DIGITS = re.compile(r"\d[\d\s+-]{4,}\d")
MIN_DIGITS = 6


@cache
def schema_names(schema: GraphQLSchema) -> frozenset[str]:
    """Every type, field, argument and enum value name of the schema."""
    names: set[str] = set()
    for name, named in schema.type_map.items():
        names.add(name)
        if is_object_type(named) or is_input_object_type(named):
            for field_name, field in named.fields.items():
                names.add(field_name)
                names.update(getattr(field, "args", {}) or {})
        if is_enum_type(named):
            names.update(named.values)
    return frozenset(names)


class ErrorScrubber:
    """Rewrites one research answer's errors (see the module docstring)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        pseudonym: Callable[[uuid.UUID], str],
        text_pseudonym: Callable[[str], str],
    ) -> None:
        self.names = schema_names(schema)
        self.pseudonym = pseudonym
        self.text_pseudonym = text_pseudonym

    def error(self, formatted: dict[str, Any]) -> dict[str, Any]:
        out = dict(formatted)
        out["message"] = self.text(str(formatted.get("message", "")))
        extensions = dict(formatted.get("extensions") or {})
        out["extensions"] = {k: v if k == "code" else self._value(v) for k, v in extensions.items()}
        return out

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._value(v) for v in value]
        if isinstance(value, dict):
            return {k: self._value(v) for k, v in value.items()}
        return value

    def text(self, message: str) -> str:
        message = QUOTED.sub(self._quoted, message)
        message = UUID.sub(lambda m: self._safe(lambda: self.pseudonym(uuid.UUID(m[0]))), message)
        message = HSA_ID.sub(lambda m: self._safe(lambda: self.text_pseudonym(m[0])), message)
        message = BASE64_TOKEN.sub(self._global_id, message)
        return DIGITS.sub(self._digits, message)

    def _quoted(self, match: re.Match[str]) -> str:
        inner = match[1] if match[1] is not None else match[2]
        quote = match[0][0]
        bare = inner.strip("[]!")
        if bare in self.names or inner == WITHHELD:
            return match[0]
        return f"{quote}{WITHHELD}{quote}"

    def _global_id(self, match: re.Match[str]) -> str:
        text = match[0]
        if text.startswith("psn_"):
            return text
        try:
            found = decode_id(text)
        except BadInput:
            return text
        return self._safe(lambda: self.pseudonym(found.id))

    @staticmethod
    def _digits(match: re.Match[str]) -> str:
        count = sum(c.isdigit() for c in match[0])
        return WITHHELD if count >= MIN_DIGITS else match[0]

    @staticmethod
    def _safe(make: Callable[[], str]) -> str:
        try:
            return make()
        except ValueError:  # no pseudonym key: withhold, never the real value
            return WITHHELD
