"""Depth, alias and token limits over HTTP: clear messages, stable codes, introspection intact."""

from __future__ import annotations

import httpx
import pytest
from graphql import get_introspection_query

from app.graphql_http import GRAPHQL_RESPONSE
from schema.limits import LIMIT_EXTENSIONS, MAX_ALIASES, MAX_DEPTH, MAX_TOKENS


async def run(client: httpx.AsyncClient, query: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query},
        headers={"accept": GRAPHQL_RESPONSE},
    )


def nested(depth: int) -> str:
    """`__type` is an introspection field: only the type-ref chain below it nests."""
    inner = "name"
    for _ in range(depth):
        inner = f"ofType {{ {inner} }}"
    return f'{{ __type(name: "Query") {{ {inner} }} }}'


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


async def error_code(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


async def test_the_full_introspection_query_passes_every_limit(client: httpx.AsyncClient) -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    response = await run(client, query)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_cyclic_introspection_is_refused(client: httpx.AsyncClient) -> None:
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    response = await run(client, query)
    assert response.status_code == 400
    assert await error_code(response) == "QUERY_TOO_DEEP"


def deep(levels: int) -> str:
    """`{ x { x { ... leaf } } }` with `levels` object fields (names need not exist: the limit
    is reported whether or not the fields do)."""
    inner = "leaf"
    for _ in range(levels):
        inner = f"x {{ {inner} }}"
    return "{ " + inner + " }"


def depth_errors(response: httpx.Response) -> list[str]:
    return [
        e["message"]
        for e in response.json()["errors"]
        if e["extensions"]["code"] == "QUERY_TOO_DEEP"
    ]


async def test_depth_limit(client: httpx.AsyncClient) -> None:
    at_limit = await run(client, deep(MAX_DEPTH))
    assert depth_errors(at_limit) == []
    over = await run(client, deep(MAX_DEPTH + 1))
    assert over.status_code == 400
    [message] = depth_errors(over)
    assert str(MAX_DEPTH) in message


async def test_parser_nesting_limit_is_query_too_deep(client: httpx.AsyncClient) -> None:
    response = await run(client, "{" + "a{" * 300 + "b" + "}" * 300 + "}")
    assert response.status_code == 400
    assert await error_code(response) == "QUERY_TOO_DEEP"


async def test_alias_limit(client: httpx.AsyncClient) -> None:
    allowed = await run(client, aliases(MAX_ALIASES))
    assert allowed.status_code == 200
    refused = await run(client, aliases(MAX_ALIASES + 1))
    assert refused.status_code == 400
    assert await error_code(refused) == "TOO_MANY_ALIASES"
    assert str(MAX_ALIASES) in refused.json()["errors"][0]["message"]


def operations(count: int) -> str:
    """`count` operations of 5 tokens each (`query Qn { __typename }`)."""
    return " ".join(f"query Q{i} {{ __typename }}" for i in range(count))


async def test_token_limit(client: httpx.AsyncClient) -> None:
    under = MAX_TOKENS // 5
    allowed = await client.post(
        "/graphql",
        json={"query": operations(under), "operationName": "Q0"},
        headers={"accept": GRAPHQL_RESPONSE},
    )
    assert allowed.status_code == 200, allowed.text[:300]
    refused = await client.post(
        "/graphql",
        json={"query": operations(under + 1), "operationName": "Q0"},
        headers={"accept": GRAPHQL_RESPONSE},
    )
    assert refused.status_code == 400
    assert await error_code(refused) == "QUERY_TOO_LARGE"
    assert str(MAX_TOKENS) in refused.json()["errors"][0]["message"]


async def test_documents_too_big_to_validate_are_query_too_large(
    client: httpx.AsyncClient,
) -> None:
    # graphql-core gives up on ~1,000 sibling fields (its overlap check recurses).
    response = await run(client, "{ " + "__typename " * 1500 + "}")
    assert response.status_code == 400
    assert await error_code(response) == "QUERY_TOO_LARGE"


async def test_limits_apply_to_fragments_and_undefined_fragments_stay_validation_errors(
    client: httpx.AsyncClient,
) -> None:
    spread = await run(client, "{ ...Missing }")
    assert spread.status_code == 400
    assert await error_code(spread) == "GRAPHQL_VALIDATION_FAILED"
    fragment = "fragment F on Query { " + " ".join(f"a{i}: __typename" for i in range(20)) + " }"
    many = await run(
        client,
        fragment
        + " { ...F b: __typename c: __typename ...G } "
        + ("fragment G on Query { " + " ".join(f"g{i}: __typename" for i in range(10)) + " }"),
    )
    assert many.status_code == 400
    assert await error_code(many) == "TOO_MANY_ALIASES"


def test_limit_extensions_are_factories() -> None:
    made = [factory() for factory in LIMIT_EXTENSIONS]
    again = [factory() for factory in LIMIT_EXTENSIONS]
    assert all(a is not b for a, b in zip(made, again, strict=True))


@pytest.mark.parametrize("depth", [3, 8])
async def test_type_ref_chains_of_introspection_stay_allowed(
    client: httpx.AsyncClient, depth: int
) -> None:
    response = await run(client, nested(depth))
    assert response.status_code == 200, response.text
