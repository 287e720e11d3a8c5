"""Every guide in docs/ (and the README) runs: each GraphQL example is sent with the token and
variables shown before it and compared with the answer shown after it, each `curl` is sent,
each `vardkedja` command line parses, so a stale example fails the build.
(docs/care-situations.md has its own, stricter test: test_docs_examples.py.)"""

from __future__ import annotations

import re
import shlex
import uuid
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, OperationType, parse
from sqlalchemy import text

from app.cli import build_parser
from app.seed.demo import DEMO_PATIENTS, DEMO_STUDY_NAME
from app.settings import Settings
from schema.ids import encode_id
from tests.integration.demo_support import Demo
from tests.integration.docs_examples import Run, contained, located_blocks, run_guide

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "care-situations.md"),
]
GUIDE_TEXTS = {g: g.read_text(encoding="utf-8") for g in GUIDES}


def _is_subscription(document: str) -> bool:
    return any(
        isinstance(d, OperationDefinitionNode) and d.operation is OperationType.SUBSCRIPTION
        for d in parse(document).definitions
    )


def subscription_blocks(text: str) -> list[str]:
    """The GraphQL blocks that subscribe (run over a websocket by test_subscriptions.py)."""
    return [b for _, lang, b in located_blocks(text) if lang == "graphql" and _is_subscription(b)]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """As `serve` runs: with a pseudonym key (the research examples need one)."""
    return settings.model_copy(update={"pseudonym_key": "docs-pseudonym-key-0123456789abcdef"})


class Placeholders:
    """Fills the guides' `<...>` values from the demo data, or from the answer before."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo

    async def _patient(self, key: str) -> uuid.UUID:
        pnr = DEMO_PATIENTS[key].personnummer
        found = await self.demo.conn.scalar(
            text("SELECT id FROM patient WHERE identifier = :p"), {"p": pnr}
        )
        assert found is not None, key
        return uuid.UUID(str(found))

    async def resolve(self, name: str, previous: Any) -> Any:
        if name == "<endCursor>":
            return _find(previous, "endCursor")
        if name in {"<Tolvan's id>", "<Tolvan's uuid>"}:
            tolvan = await self._patient("tolvan")
            return encode_id("Patient", tolvan) if name.endswith("id>") else str(tolvan)
        if name == "<Oskar's id>":
            return encode_id("Patient", await self._patient("teen"))
        if name == "<the id of Tolvan's latest atrial fibrillation diagnosis>":
            tolvan = await self._patient("tolvan")
            row = await self.demo.conn.scalar(
                text(
                    "SELECT id FROM diagnosis WHERE patient_id = :p AND code = 'I48.9'"
                    " AND NOT nullified ORDER BY event_time DESC LIMIT 1"
                ),
                {"p": tolvan},
            )
            return encode_id("Diagnosis", row, tolvan)
        if name == "<Tolvan's Waran prescription id>":
            tolvan = await self._patient("tolvan")
            row = await self.demo.conn.scalar(
                text(
                    "SELECT id FROM prescription WHERE patient_id = :p AND drug_name = 'Waran'"
                    " AND status = 'aktiv' AND NOT nullified"
                ),
                {"p": tolvan},
            )
            return encode_id("Prescription", row, tolvan)
        if name == "<the id of Tolvan's referral>":
            tolvan = await self._patient("tolvan")
            row = await self.demo.conn.scalar(
                text("SELECT id FROM referral WHERE patient_id = :p ORDER BY event_time LIMIT 1"),
                {"p": tolvan},
            )
            return encode_id("Referral", row, tolvan)
        if name == "<Tolvan's SIP id>":
            tolvan = await self._patient("tolvan")
            row = await self.demo.conn.scalar(
                text("SELECT id FROM sip_plan WHERE patient_id = :p"), {"p": tolvan}
            )
            return encode_id("SipPlan", row, tolvan)
        if name == "<the id of the Waran handover in Tolvan's SIP>":
            tolvan = await self._patient("tolvan")
            row = await self.demo.conn.scalar(
                text(
                    "SELECT id FROM sip_action WHERE patient_id = :p"
                    " AND description LIKE 'Waran överlämnas%'"
                ),
                {"p": tolvan},
            )
            return encode_id("SipAction", row, tolvan)
        if name == "<the demo study's id>":
            study = await self.demo.conn.scalar(
                text("SELECT id FROM research_study WHERE name = :n"), {"n": DEMO_STUDY_NAME}
            )
            return encode_id("ResearchStudy", study)
        raise AssertionError(f"the guide has a placeholder {name!r} the test cannot fill")


def _find(answer: Any, key: str) -> Any:
    if isinstance(answer, dict):
        if key in answer:
            return answer[key]
        answer = list(answer.values())
    if isinstance(answer, list):
        for item in answer:
            found = _find(item, key)
            if found is not None:
                return found
    return None


async def _run(demo: Demo, guide: Path) -> tuple[str, Run]:
    text_ = GUIDE_TEXTS[guide]
    return text_, await run_guide(demo, text_, Placeholders(demo).resolve)


@pytest.mark.parametrize("guide", GUIDES, ids=[str(g.relative_to(ROOT)) for g in GUIDES])
async def test_every_example_of_the_guide_answers_as_shown(demo: Demo, guide: Path) -> None:
    text_, run = await _run(demo, guide)
    subscriptions = {
        line
        for line, lang, body in located_blocks(text_)
        if lang == "graphql" and _is_subscription(body)
    }
    unrun = [line for line in run.unrun if line not in subscriptions]
    assert not unrun, f"{guide.name}: GraphQL examples at lines {unrun} have no answer shown"
    for example in run.examples:
        assert isinstance(example.expected, dict), (guide.name, example.line)
        if "errors" not in example.expected:
            assert "errors" not in example.actual, (guide.name, example.line, example.actual)
        problems = contained(example.expected, example.actual)
        assert not problems, (guide.name, example.line, problems[:5])
    for curl, answer in run.curls:
        assert "errors" not in answer, (guide.name, curl, answer)
    parser = build_parser()
    for command in run.commands:
        words = shlex.split(command.replace("\\$", "$"))
        try:
            parser.parse_args(words[1:])
        except SystemExit:  # argparse's answer to an unknown command or flag
            pytest.fail(f"{guide.name}: `{command}` is not a valid command line")


async def test_the_guides_run_examples_of_every_kind(demo: Demo) -> None:
    """The runner does find what the guides hold (a runner that skipped everything would pass
    the test above)."""
    runs = {g.name: await _run(demo, g) for g in GUIDES}
    examples = sum(len(r.examples) for _, r in runs.values())
    curls = sum(len(r.curls) for _, r in runs.values())
    commands = sum(len(r.commands) for _, r in runs.values())
    assert examples >= 12 and curls >= 4 and commands >= 10, (examples, curls, commands)
    for name in ("schema.md", "privacy.md", "fhir.md", "changes.md"):
        assert runs[name][1].examples, name


def test_a_stale_command_line_is_caught() -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["import-fhir", "--no-such-flag", "x.json"])


def test_every_personnummer_in_the_guides_is_a_demo_person_or_said_to_be_new() -> None:
    demo = {p.personnummer for p in DEMO_PATIENTS.values()}
    demo |= {f"{p[:8]}-{p[8:]}" for p in demo}
    for guide in GUIDES:
        found = set(re.findall(r"(?<![\d.-])((?:18|19|20)\d{6}-?\d{4})(?!\d)", guide.read_text()))
        unknown = {p for p in found if p not in demo and p.replace("-", "") not in demo}
        assert unknown <= NEW_PEOPLE, (guide.name, unknown - NEW_PEOPLE)


# Personnummer that a guide registers or imports as a new person (Skatteverket's test numbers).
NEW_PEOPLE = {"198112189876"}
