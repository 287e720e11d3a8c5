"""docs/care-situations.md runs: every token, request, response, hash and personnummer in it is
checked against the demo data, so a stale example fails the build."""

from __future__ import annotations

import re
from pathlib import Path

from app.seed.demo import DEMO_PATIENTS
from schema.persisted import load_registry
from tests.integration.demo_support import Demo
from tests.integration.docs_examples import blocks, contained, run_guide

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "care-situations.md"


async def test_every_example_answers_as_documented(demo: Demo) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    run = await run_guide(demo, text)
    assert run.unrun == [], "GraphQL examples without an answer shown"
    operations = {e.request.get("operationName") for e in run.examples}
    assert operations >= {op.name for op in load_registry().by_name.values()}
    assert sum("query" in e.request for e in run.examples) >= 4  # the mutation examples
    for example in run.examples:
        assert isinstance(example.expected, dict), example.expected
        assert "errors" not in example.actual, (example.request, example.actual)
        problems = contained(example.expected, example.actual)
        assert not problems, (example.token, example.request, problems[:5])
    # The three ways of calling an operation answer alike.
    assert len(run.curls) == 3
    answers = [answer["data"]["patient"] for _, answer in run.curls]
    assert answers[0] is not None and answers[0] == answers[1] == answers[2]


def test_the_hash_table_is_current() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `(\w+)` \| `([0-9a-f]{64})` \|$", text, flags=re.MULTILINE))
    assert table == {op.name: op.sha256 for op in load_registry().by_name.values()}
    # Every hash written anywhere in the guide is one of them.
    hashes = set(table.values())
    for found in re.findall(r"\b[0-9a-f]{64}\b", text):
        assert found in hashes, found


def test_every_personnummer_is_a_demo_person() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    demo = {p.personnummer for p in DEMO_PATIENTS.values()}
    found = set(re.findall(r"(?<![\d.-])((?:18|19|20)\d{10})(?!\d)", text))
    assert found and found <= demo, found - demo


def test_every_token_names_a_demo_role() -> None:
    from app.settings import Settings
    from tests.integration.demo_support import token_for

    text = GUIDE.read_text(encoding="utf-8")
    commands = re.findall(r"vardkedja token ([^)\n]*)\)", text)
    assert len(commands) >= 8
    settings = Settings(jwt_secret="docs-test-secret-0123456789-0123456789", database_url=None)
    for command in commands:
        assert token_for(settings, command)
    assert any(lang == "graphql" for lang, _ in blocks(text))


def test_containment_is_strict_where_the_guide_is_explicit() -> None:
    actual = {"a": [1, 2, 3], "id": "UGF0aWVudDoxMjM", "b": {"c": None, "d": "x"}}
    assert contained({"a": [1, 2], "id": "UGF0aWVudDo…", "b": {"d": "x"}}, actual) == []
    assert contained({"a": [2]}, actual) == [".a[0]: expected 2, got 1"]
    assert contained({"id": "UGF0aWVudDp…"}, actual)
    assert contained({"b": {"e": 1}}, actual) == [".b.e: missing"]
    assert contained({"a": []}, actual)  # an empty documented list means empty
    assert contained({"a": [1, 2, 3, 4]}, actual)
