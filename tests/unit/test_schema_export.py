"""The committed SDL (schema/schema.graphql) is the schema: regenerate it with
`vardkedja export-schema` after every change."""

from __future__ import annotations

from pathlib import Path

import schema as schema_package
from schema.export import printed_schema

COMMITTED = Path(schema_package.__file__).parent / "schema.graphql"


def test_committed_sdl_matches_the_schema() -> None:
    assert COMMITTED.read_text() == printed_schema(), (
        "schema/schema.graphql is stale: run `vardkedja export-schema` and commit it"
    )
