"""Two fields awaiting one loader key, one of them cancelled by GraphQL execution (a sibling
failed under a non-null parent, so graphql-core cancels what else that parent awaits): the
other still gets its value (resolvers/loaders/shared.py). asyncio cancels the future a
cancelled task awaits, and a loader gives every field of a key the same future, so the
request ended in CancelledError (found by the differential test)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.demo_support import Demo
from tests.integration.test_fused_reads import ask, client
from tests.integration.test_situation_matrix import DENTIST, TOLVAN

TWICE = """
query Twice($a: String, $b: String) {
  p1: patient(personnummer: $a) { bloodGroup { accountable { hsaId } } }
  p2: patient(personnummer: $b) {
    bloodGroup { accountable { hsaId } }
    blocks(first: 101) { totalCount }
  }
}
"""


@pytest.mark.parametrize("planner", [False, True])
async def test_a_cancelled_field_does_not_cancel_another_awaiting_the_same_key(
    demo: Demo, planner: bool
) -> None:
    settings = demo.settings.model_copy(update={"planner": planner})
    body: dict[str, Any] = {"query": TWICE, "variables": {"a": TOLVAN, "b": TOLVAN}}
    async with client(demo.conn, settings) as http:
        answer = await ask(http, demo, DENTIST, body)
    codes = {e["extensions"]["code"] for e in answer.body["errors"]}
    assert codes == {"PAGE_SIZE_EXCEEDED"}, answer.body
    assert answer.body["data"]["p2"] is None
    assert answer.body["data"]["p1"] is not None and "bloodGroup" in answer.body["data"]["p1"]
