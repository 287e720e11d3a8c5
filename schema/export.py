"""The printed SDL of the public schema (committed as schema/schema.graphql)."""

from __future__ import annotations

from schema import schema


def printed_schema() -> str:
    return schema.as_str() + "\n"
