"""The GraphiQL page over HTTP: browsers get it (also for `?query=`/`?q=` links), API clients
keep getting GraphQL, and every asset it names is served by the app itself, unchanged."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from app.graphiql import STATIC_DIR

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize("query", ["", "?query=%7B%20__typename%20%7D", "?q=%7B__typename%7D"])
async def test_browsers_get_the_page_with_or_without_a_query(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await client.get(f"/graphql{query}", headers={"accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    assert "vardkedja-graphiql.js" in response.text


async def test_page_names_only_assets_of_this_server(client: httpx.AsyncClient) -> None:
    page = (await client.get("/graphql", headers={"accept": "text/html"})).text
    assert "://" not in page
    assets = re.findall(r'(?:src|href)="(/static/graphiql/[^"]+)"', page)
    assert len(assets) == 7
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert response.content == (STATIC_DIR / asset.rsplit("/", 1)[1]).read_bytes()


def test_vendored_files_are_the_pinned_npm_files() -> None:
    sums = (STATIC_DIR / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 6
    for line in sums:
        digest, name = line.split()
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name
    licences = (STATIC_DIR / "LICENSES").read_text()
    for package in ("graphiql@3.8.3", "react@18.2.0", "react-dom@18.2.0", "plugin-explorer@1.0.2"):
        assert package in licences


@pytest.mark.parametrize("accept", [None, "application/json", "text/html, application/json"])
async def test_api_clients_still_get_graphql_over_get(
    client: httpx.AsyncClient, accept: str | None
) -> None:
    headers = {"accept": accept} if accept else {}
    response = await client.get("/graphql", params={"query": "{ __typename }"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


async def test_a_post_from_a_browser_is_not_the_page(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/html"}
    )
    assert response.status_code == 406
