"""Run the examples of a Markdown guide against the demo data (docs that run).

The guide's fenced blocks are read in order: a `sh` block with `vardkedja token ...` sets the
token (and its `curl` lines are sent as they are); a `json` block with `operationName` is a
request; a `graphql` block followed by a `json` block of variables is a request too; the next
`json` block that starts with `{"data"` is the expected response. It must be contained in the
actual one: objects may leave keys out, lists may be cut to their first items, and a string
ending in `…` (an id, a hash) stands for any string that starts with what comes before it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.integration.demo_support import Demo, token_for

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
TOKEN = re.compile(r"vardkedja token ([^)\n]*)\)")
CURL_BODY = re.compile(r"-d '(.*?)'", re.DOTALL)
CURL_GET = re.compile(r"curl -s '(http://[^']+)'")


@dataclass
class Example:
    """One request of the guide, what was expected and what came back."""

    token: str
    request: dict[str, Any]
    expected: Any
    actual: Any = None
    get: str | None = None


@dataclass
class Run:
    examples: list[Example] = field(default_factory=list)
    curls: list[tuple[str, Any]] = field(default_factory=list)


def blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


async def run_guide(demo: Demo, text: str) -> Run:
    """Send every example of the guide in order (writes stay in the test's transaction)."""
    run, token, pending, document = Run(), "", None, None
    for language, body in blocks(text):
        if language == "sh":
            for args in TOKEN.findall(body):
                token = args.strip()
            for curl in _curls(body):
                run.curls.append((curl, await _send_curl(demo, token, curl)))
            continue
        if language == "graphql":
            document = body
            continue
        if language != "json":
            continue
        try:
            value = json.loads(body)
        except ValueError:
            value = body.strip()  # a placeholder: what the example answers is recorded
        if isinstance(value, dict) and "operationName" in value:
            pending = Example(token, value, None)
        elif isinstance(value, dict) and document is not None and "input" in value:
            pending = Example(token, {"query": document, "variables": value}, None)
            document = None
        elif pending is not None and (isinstance(value, str) or "data" in value):
            pending.expected = value
            pending.actual = await _send(demo, pending.token, pending.request)
            run.examples.append(pending)
            pending = None
    return run


def _curls(body: str) -> list[str]:
    return [c for c in re.split(r"\n(?=curl )", body) if c.startswith("curl ")]


async def _send(demo: Demo, token: str, request: dict[str, Any]) -> Any:
    headers = {"authorization": f"Bearer {token_for(demo.settings, token)}"}
    response = await demo.http.post("/graphql", json=request, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _send_curl(demo: Demo, token: str, curl: str) -> Any:
    headers = {"authorization": f"Bearer {token_for(demo.settings, token)}"}
    body = CURL_BODY.search(curl)
    if body is not None:
        response = await demo.http.post("/graphql", json=json.loads(body.group(1)), headers=headers)
    else:
        url = CURL_GET.search(curl)
        assert url is not None, curl
        parts = urlsplit(url.group(1))
        params = dict(parse_qsl(parts.query))
        response = await demo.http.get(parts.path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def contained(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where `expected` is not contained in `actual` (empty: it is)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += contained(value, actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) < len(expected):
            return [f"{path}: expected at least {len(expected)} items, got {actual!r}"]
        if not expected and actual:
            return [f"{path}: expected an empty list, got {len(actual)} items"]
        return [p for i, e in enumerate(expected) for p in contained(e, actual[i], f"{path}[{i}]")]
    if isinstance(expected, str) and expected.endswith("…"):
        if isinstance(actual, str) and actual.startswith(expected[:-1]):
            return []
    elif expected == actual:
        return []
    return [f"{path}: expected {expected!r}, got {actual!r}"]
