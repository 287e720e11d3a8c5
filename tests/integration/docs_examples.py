"""Run the examples of a Markdown guide against the demo data (docs that run).

The guide's fenced blocks are read in order: a `sh` block with `TOKEN=$(vardkedja token ...)`
sets the token (its `curl` lines are sent as they are, its other `vardkedja` commands are
collected for the caller to check); a `json` block with `operationName` is a request; a
`graphql` block, with the `json` block of variables after it if any, is a request too; the next
`json` block with `data`, `errors` or `extensions` is the expected response. A string
`"<...>"` in variables, bodies or URLs is a placeholder the caller's `resolve` fills in.

The expected response must be contained in the actual one: objects may leave keys out, lists
may be cut to their first items, and a string ending in `…` (an id, a hash) stands for any
string that starts with what comes before it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.integration.demo_support import Demo, token_for

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
TOKEN = re.compile(r"\$\((?:\S*/)?vardkedja token ([^)\n]*)\)")
CURL_BODY = re.compile(r"-d '(.*?)'", re.DOTALL)
CURL_GET = re.compile(r"curl [^\n]*?'?(http://[^\s']+)")
IN_URL = re.compile(r"<[^<>/\n]+>")
Q_CALL = re.compile(r"^q '(.*)'$", re.MULTILINE)
COMMAND = re.compile(
    r"^(?:\w+=\S+ )*((?:\.venv/bin/)?vardkedja [^\n#]*?)\s*(?:#.*)?$", re.MULTILINE
)


@dataclass
class Example:
    """One request of the guide, what was expected and what came back."""

    token: str
    request: dict[str, Any]
    expected: Any
    actual: Any = None
    get: str | None = None
    line: int = 0


@dataclass
class Run:
    examples: list[Example] = field(default_factory=list)
    curls: list[tuple[str, Any]] = field(default_factory=list)
    unrun: list[int] = field(default_factory=list)  # lines of GraphQL blocks never sent
    commands: list[str] = field(default_factory=list)  # `vardkedja ...` lines of sh blocks


# A placeholder a reader fills in (`"<Tolvan's id>"`); the test fills it from the demo data or
# from the answer before (`"<endCursor>"`).
Resolve = Callable[[str, Any], Awaitable[Any]]
PLACEHOLDER = re.compile(r"^<[^<>]+>$")
ANSWER_KEYS = {"data", "errors", "extensions"}


def blocks(text: str) -> list[tuple[str, str]]:
    return [(language, body) for _, language, body in located_blocks(text)]


def located_blocks(text: str) -> list[tuple[int, str, str]]:
    """(line, language, body) of every fenced block."""
    return [
        (text[: m.start()].count("\n") + 1, m.group(1), m.group(2)) for m in FENCE.finditer(text)
    ]


async def _unresolved(name: str, previous: Any) -> Any:
    raise AssertionError(f"the guide has a placeholder {name!r} the test cannot fill")


async def fill(value: Any, resolve: Resolve, previous: Any) -> Any:
    """`value` with every placeholder string replaced."""
    if isinstance(value, str) and PLACEHOLDER.match(value):
        return await resolve(value, previous)
    if isinstance(value, dict):
        return {k: await fill(v, resolve, previous) for k, v in value.items()}
    if isinstance(value, list):
        return [await fill(v, resolve, previous) for v in value]
    return value


async def run_guide(demo: Demo, text: str, resolve: Resolve = _unresolved) -> Run:
    """Send every example of the guide in order (writes stay in the test's transaction).

    A `graphql` block is sent with the `json` block after it as variables (if that block is
    not an answer), and compared with the answer block that follows; one that never reaches
    an answer is listed in `Run.unrun`."""
    run, token, pending = Run(), "", None
    document: tuple[int, str] | None = None
    variables: dict[str, Any] = {}
    previous: Any = None
    for line, language, body in located_blocks(text):
        if language == "sh":
            for args in TOKEN.findall(body):
                token = args.strip()
            run.commands += COMMAND.findall(body)
            for curl in _curls(body):
                answer = await _send_curl(demo, token, curl, resolve, previous)
                run.curls.append((curl, answer))
                previous = answer
            continue
        if language == "graphql":
            if document is not None:
                run.unrun.append(document[0])
            document, variables = (line, body), {}
            continue
        if language != "json":
            continue
        try:
            value = json.loads(body)
        except ValueError:
            value = body.strip()  # a placeholder: what the example answers is recorded
        is_answer = isinstance(value, str) or (isinstance(value, dict) and ANSWER_KEYS & set(value))
        if isinstance(value, dict) and "operationName" in value:
            pending = Example(token, value, None, line=line)
            document = None  # a shipped operation's text, called by name
        elif isinstance(value, dict) and document is not None and not is_answer:
            variables = await fill(value, resolve, previous)
        elif is_answer and pending is None and document is not None:
            request = {"query": document[1], "variables": variables}
            pending = Example(token, request, None, line=document[0])
            document = None
        if is_answer and pending is not None:
            pending.expected = value
            refused = isinstance(value, dict) and "errors" in value
            pending.actual = previous = await _send(demo, pending.token, pending.request, refused)
            run.examples.append(pending)
            pending = None
    if document is not None:
        run.unrun.append(document[0])
    return run


def _curls(body: str) -> list[str]:
    """Every `curl` command of a block, and every call of a shell function `q '<body>'` that
    wraps one (changes.md)."""
    calls = [c for c in re.split(r"\n(?=curl )", body) if c.startswith("curl ")]
    return calls + [f"curl -d '{m}'" for m in Q_CALL.findall(body)]


async def _send(demo: Demo, token: str, request: dict[str, Any], refused: bool = False) -> Any:
    """The answer to `request` with the guide's token (none before the guide mints one); an
    example whose answer is an error may answer with an HTTP error status too."""
    headers = {"authorization": f"Bearer {token_for(demo.settings, token)}"} if token else {}
    response = await demo.http.post("/graphql", json=request, headers=headers)
    assert refused or response.status_code == 200, response.text
    return response.json()


async def _send_curl(demo: Demo, token: str, curl: str, resolve: Resolve, previous: Any) -> Any:
    headers = {"authorization": f"Bearer {token_for(demo.settings, token)}"}
    body = CURL_BODY.search(curl)
    if body is not None:
        request = await fill(json.loads(body.group(1)), resolve, previous)
        response = await demo.http.post("/graphql", json=request, headers=headers)
    else:
        for name in IN_URL.findall(curl):
            curl = curl.replace(name, str(await resolve(name, previous)))
        url = CURL_GET.search(curl)
        assert url is not None, curl
        parts = urlsplit(url.group(1).replace("\\$", "$"))
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
