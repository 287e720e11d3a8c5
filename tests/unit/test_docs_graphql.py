"""Every GraphQL example in docs/ parses and fits the current schema, so a renamed field or
argument fails the build. (They are also run against the demo data and their answers compared:
tests/integration/test_docs_run.py and, for docs/care-situations.md, test_docs_examples.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from schema import schema

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)
EXAMPLES = [
    (f"{path.name}:{text[: m.start()].count(chr(10)) + 1}", m.group(1))
    for path in sorted(DOCS.glob("*.md"))
    for text in [path.read_text(encoding="utf-8")]
    for m in BLOCK.finditer(text)
]


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize(("where", "example"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_a_docs_example_fits_the_schema(where: str, example: str) -> None:
    errors = validate(schema._schema, parse(example))
    assert not errors, [e.message for e in errors]
