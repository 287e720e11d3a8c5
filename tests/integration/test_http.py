"""GraphQL over HTTP (graphql-over-http spec): media types, methods, statuses, error codes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.routing import Route

from app.context import Context
from app.db import ConnectionDatabase
from app.graphql_http import GRAPHQL_RESPONSE, JSON, MAX_BODY_BYTES, GraphQLEndpoint, negotiate
from app.settings import Settings
from app.tokens import mint

TYPENAME = {"query": "{ __typename }"}


async def post(
    client: httpx.AsyncClient, body: Any, accept: str | None = GRAPHQL_RESPONSE, **headers: str
) -> httpx.Response:
    sent = {"content-type": JSON} | headers
    if accept is not None:
        sent["accept"] = accept
    content = (
        body if isinstance(body, bytes | str) else httpx.Request("POST", "/", json=body).content
    )
    return await client.post("/graphql", content=content, headers=sent)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", JSON),
        (f"{JSON};q=0.5, {GRAPHQL_RESPONSE};q=0.9", GRAPHQL_RESPONSE),
        (f"text/html, {GRAPHQL_RESPONSE};q=0", None),
        ("text/html", None),
        ("text/html,application/xhtml+xml,*/*;q=0.8", JSON),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize("accept", [None, "*/*", JSON, GRAPHQL_RESPONSE])
async def test_post_answers_in_the_accepted_media_type(
    client: httpx.AsyncClient, accept: str | None
) -> None:
    response = await post(client, TYPENAME, accept)
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}
    expected = GRAPHQL_RESPONSE if accept == GRAPHQL_RESPONSE else JSON
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"


async def test_unacceptable_accept_is_406(client: httpx.AsyncClient) -> None:
    response = await post(client, TYPENAME, "text/html")
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_get_runs_queries_with_json_variables(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query T($n: String!) { __type(name: $n) { name } }",
            "variables": '{"n": "Query"}',
        },
        headers={"accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"__type": {"name": "Query"}}


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_mutation_over_get_is_405_with_allow_post(
    client: httpx.AsyncClient, accept: str
) -> None:
    response = await client.get(
        "/graphql", params={"query": "mutation { __typename }"}, headers={"accept": accept}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_graphiql_is_served_to_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (None, 415),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("application/json; charset=latin-1", 415),
        ("application/json; charset=utf-8", 200),
        ("application/json;charset=UTF-8", 200),
    ],
)
async def test_post_content_type(
    client: httpx.AsyncClient, content_type: str | None, status: int
) -> None:
    headers = {"accept": GRAPHQL_RESPONSE}
    if content_type is not None:
        headers["content-type"] = content_type
    response = await client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers=headers
    )
    assert response.status_code == status
    if status != 200:
        assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


MALFORMED: list[Any] = [
    b"",
    b'{ "not a JSON',
    b"[]",
    b'[{"query": "{ __typename }"}]',
    b'"{ __typename }"',
    {"notquery": "{ __typename }"},
    {"query": {"obj": "ect"}},
    {"query": 0},
    {"query": False},
    {"query": ["array"]},
    {"query": "{ __typename }", "operationName": 1},
    {"query": "{ __typename }", "variables": "string"},
    {"query": "{ __typename }", "variables": ["array"]},
    {"query": "{ __typename }", "extensions": 0},
    {"query": "{ __typename }", "documentId": 5},
]


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize("body", MALFORMED)
async def test_malformed_requests_are_400_for_every_media_type(
    client: httpx.AsyncClient, body: Any, accept: str
) -> None:
    response = await post(client, body, accept)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "data" not in response.json()


@pytest.mark.parametrize("parameter", ["variables", "operationName", "extensions"])
async def test_null_parameters_are_allowed(client: httpx.AsyncClient, parameter: str) -> None:
    response = await post(client, TYPENAME | {parameter: None}, JSON)
    assert response.json()["data"] == {"__typename": "Query"}


DOCUMENT_ERRORS = [
    ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
    (
        {"query": "query Q($id: ID!) { __typename }", "variables": {"id": None}},
        "BAD_USER_INPUT",
    ),
    (
        {
            "query": "query Q($p: String!) { patient(personnummer: $p) { id } }",
            "variables": {"p": {"nested": True}},
        },
        "BAD_USER_INPUT",
    ),
    ({"query": "query A { __typename } query B { __typename }"}, "OPERATION_RESOLUTION_FAILURE"),
    ({"query": "query A { __typename }", "operationName": "B"}, "OPERATION_RESOLUTION_FAILURE"),
]


@pytest.mark.parametrize(("body", "code"), DOCUMENT_ERRORS)
async def test_document_errors_are_400_without_data_for_graphql_response(
    client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    response = await post(client, body, GRAPHQL_RESPONSE)
    assert response.status_code == 400
    payload = response.json()
    assert "data" not in payload
    assert payload["errors"][0]["extensions"]["code"] == code


@pytest.mark.parametrize(("body", "code"), DOCUMENT_ERRORS)
async def test_document_errors_are_200_for_legacy_json(
    client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    response = await post(client, body, JSON)
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_field_errors_keep_200_and_data(client: httpx.AsyncClient) -> None:
    response = await post(
        client, {"query": '{ patient(personnummer: "191212121213") { id } }'}, GRAPHQL_RESPONSE
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] == {"patient": None}
    assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    body = {"query": "{ __typename }", "variables": {"x": "a" * MAX_BODY_BYTES}}
    response = await post(client, body, GRAPHQL_RESPONSE)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("authorization", ["Bearer not-a-jwt", "Basic dXNlcjpwdw==", "Bearer"])
async def test_bad_credentials_are_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await post(client, TYPENAME, GRAPHQL_RESPONSE, authorization=authorization)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


NASTY: list[Any] = [
    {"query": "{ __typename }\u0000"},
    {"query": "\ufeff{ __typename }"},
    {"query": '{ patient(personnummer: "' + "9" * 50_000 + '") { id } }'},
    b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
    {"query": "query($p: String!) { patient(personnummer: $p) { id } }", "variables": {"p": 1e308}},
    b'{"query": "query($p: String!) { patient(personnummer: $p) { id } }", '
    b'"variables": {"p": "\\ud800"}}',
    b'{"query": "{ __typename \xff }"}',
    {"query": "{ patient(personnummer: 5) { id } }"},
    {"query": "query { __typename }", "extensions": {"persistedQuery": {"version": 2}}},
    {"query": "{ __typename @skip }"},
    {"query": "fragment F on Query { ...F } { ...F }"},
    {"query": '{ __type(name: "Query") { fields { type { fields { type { name } } } } } }'},
    {"documentId": "sha256:" + "0" * 64},
]


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize("body", NASTY)
async def test_bad_input_never_gives_500(client: httpx.AsyncClient, body: Any, accept: str) -> None:
    response = await post(client, body, accept)
    assert response.status_code < 500, response.text
    for error in response.json().get("errors", []):
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR"
        assert "Traceback" not in error["message"]


# --- internal errors, with a schema of our own on the real database --------------------------


@strawberry.type
class _BrokenQuery:
    @strawberry.field
    def boom(self) -> str:
        raise RuntimeError("secret connection string postgres://admin:pw@db")

    @strawberry.field
    async def aborts(self, info: strawberry.Info[Context, None]) -> str:
        import uuid

        info.context.audit.disclose(uuid.uuid4(), "Patient", uuid.uuid4())
        await info.context.conn.execute(text("SELECT 1 / 0"))
        return "unreachable"

    @strawberry.field
    def fine(self) -> str:
        return "fine"


@pytest.fixture
async def broken_client(
    conn: AsyncConnection, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    endpoint = GraphQLEndpoint(
        strawberry.Schema(query=_BrokenQuery), ConnectionDatabase(conn), settings
    )
    app = Starlette(routes=[Route("/graphql", endpoint.handle, methods=["GET", "POST"])])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


async def test_internal_errors_are_masked(broken_client: httpx.AsyncClient) -> None:
    response = await post(broken_client, {"query": "{ boom fine }"}, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] is None
    assert payload["errors"] == [
        {
            "message": "Internal server error",
            "locations": [{"line": 1, "column": 3}],
            "path": ["boom"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert "secret" not in response.text


async def test_unauditable_request_returns_no_data(
    broken_client: httpx.AsyncClient, settings: Settings
) -> None:
    token = mint(settings, kind="clinician", subject="x", care_unit="u", care_provider="p")
    response = await post(
        broken_client,
        {"query": "{ aborts fine }"},
        GRAPHQL_RESPONSE,
        authorization=f"Bearer {token}",
    )
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ]
    }


# --- the documented codes are the codes ---------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "care-situations.md"
SOURCES = [Path(__file__).resolve().parents[2] / d for d in ("app", "resolvers", "schema")]


def test_every_error_code_is_documented() -> None:
    from app.errors import ERROR_CODES
    from schema.mutations.common import UserErrorCode

    text_ = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", text_, flags=re.MULTILINE))
    assert set(ERROR_CODES) | {c.name for c in UserErrorCode} <= documented


def test_every_code_raised_in_the_code_base_is_registered() -> None:
    from app.errors import ERROR_CODES

    pattern = re.compile(r"""\bcode\s*=\s*"([A-Z][A-Z_]+)\"""")
    used = {
        code
        for root in SOURCES
        for path in root.rglob("*.py")
        for code in pattern.findall(path.read_text(encoding="utf-8"))
    }
    assert used, "the scan found nothing: the pattern is wrong"
    assert used <= set(ERROR_CODES), used - set(ERROR_CODES)


def test_user_error_codes_match_the_resolvers() -> None:
    from resolvers.mutations.outcome import Code
    from schema.mutations.common import UserErrorCode

    assert {c.name for c in Code} == {c.name for c in UserErrorCode}
