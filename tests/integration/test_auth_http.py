"""Authentication over HTTP: bad tokens are 401 UNAUTHENTICATED, bad purpose headers 400,
never a 500; no token sees the schema but no patient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt

from app.settings import Settings
from app.tokens import mint
from tests.conftest import TEST_SECRET

QUERY = "{ __typename }"


def claims(**extra: object) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "iss": "vardkedja-dev",
        "aud": "vardkedja",
        "sub": "SE2321000016-DR01",
        "kind": "clinician",
        "care_unit": "SE2321000016-SOAK",
        "care_provider": "SE2321000016-RSTH",
        "exp": now + timedelta(minutes=5),
    } | extra


async def post(client: httpx.AsyncClient, token: str | None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return await client.post("/graphql", json={"query": QUERY}, headers=headers)


async def test_bad_tokens_are_401(client: httpx.AsyncClient, settings: Settings) -> None:
    good = jwt.encode(claims(), TEST_SECRET, algorithm="HS256")
    head, _payload, sig = good.split(".")
    tampered_payload = jwt.utils.base64url_encode(b'{"kind":"system","sub":"x"}').decode()
    for token in (
        jwt.encode(claims(exp=datetime.now(UTC) - timedelta(seconds=5)), TEST_SECRET, "HS256"),
        jwt.encode(claims(), "a-different-secret-0123456789abcdef", algorithm="HS256"),
        f"{head}.{tampered_payload}.{sig}",
        "definitely-not-a-jwt",
        jwt.encode(claims(kind="wizard"), TEST_SECRET, algorithm="HS256"),
    ):
        response = await post(client, token)
        assert response.status_code == 401, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_good_token_and_no_token(client: httpx.AsyncClient, settings: Settings) -> None:
    token = mint(settings, kind="system", subject="integration")
    assert (await post(client, token)).json()["data"] == {"__typename": "Query"}
    assert (await post(client, None)).json()["data"] == {"__typename": "Query"}


async def test_emergency_without_reason_is_400(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = jwt.encode(claims(), TEST_SECRET, algorithm="HS256")
    response = await post(client, token, **{"X-Purpose-Of-Use": "ETREAT"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "EMERGENCY_REASON_REQUIRED"
    # Header values travel as bytes: a UTF-8 reason arrives intact.
    ok = await client.post(
        "/graphql",
        json={"query": QUERY},
        headers=[
            (b"authorization", f"Bearer {token}".encode()),
            (b"x-purpose-of-use", b"ETREAT"),
            (b"x-emergency-reason", "Medvetslös".encode()),
        ],
    )
    assert ok.status_code == 200
    unknown = await post(client, token, **{"X-Purpose-Of-Use": "GOSSIP"})
    assert unknown.status_code == 400
