"""Tokens -> principals: HS256 for development, JWKS (file or URL) for production keys,
purpose and emergency-reason headers. Every bad token is NotAuthenticated (HTTP 401)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.requests import Request

from app.access.principal import PrincipalKind, Purpose
from app.auth import authenticate
from app.errors import BadInput, NotAuthenticated
from app.settings import Settings
from app.tokens import mint

UNIT, PROVIDER = "SE2321000016-SOAK", "SE2321000016-RSTH"
SECRET = "unit-test-secret-0123456789-abcdefghij"
CLINICIAN = {
    "kind": "clinician",
    "care_unit": "SE2321000016-SOAK",
    "care_provider": "SE2321000016-RSTH",
    "role": "läkare",
}


def request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode("utf-8")) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": raw})


def bearer(token: str, **headers: str) -> Request:
    return request({"authorization": f"Bearer {token}", **headers})


def claims(**extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "iss": "vardkedja-dev",
        "aud": "vardkedja",
        "sub": "SE2321000016-DR01",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        **CLINICIAN,
    } | extra


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def jwks(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    rsa_jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True) | {"kid": "rsa-1"}
    ec_jwk = ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True) | {"kid": "ec-1"}
    return {"keys": [rsa_jwk, ec_jwk]}


@pytest.fixture
def jwks_settings(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> Settings:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(rsa_key, ec_key)))
    return Settings(jwks_file=path)


# --- JWKS -------------------------------------------------------------------------------


async def test_jwks_file_rsa_and_ec(
    jwks_settings: Settings, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    rs = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    es = jwt.encode(claims(), ec_key, algorithm="ES256", headers={"kid": "ec-1"})
    for token in (rs, es):
        principal = await authenticate(bearer(token), jwks_settings)
        assert principal.kind is PrincipalKind.CLINICIAN
        assert principal.subject == "SE2321000016-DR01"
        assert principal.care_unit_hsa_id == "SE2321000016-SOAK"
        assert principal.purpose is Purpose.TREAT


async def test_jwks_rejects_unknown_kid_wrong_key_and_tampering(
    jwks_settings: Settings, rsa_key: rsa.RSAPrivateKey
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    header, _payload, signature = good.split(".")
    forged_payload = jwt.utils.base64url_encode(
        json.dumps(claims(sub="SE2321000016-EVIL"), default=str).encode()
    ).decode()
    bad = [
        jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "nope"}),
        jwt.encode(claims(), other, algorithm="RS256", headers={"kid": "rsa-1"}),
        # An RSA token claiming the EC key's kid: algorithm and key family disagree.
        jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "ec-1"}),
        f"{header}.{forged_payload}.{signature}",
        "not.a.token",
        "garbage",
    ]
    for token in bad:
        with pytest.raises(NotAuthenticated):
            await authenticate(bearer(token), jwks_settings)


async def test_hs256_refused_when_only_jwks_is_configured(jwks_settings: Settings) -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    with pytest.raises(NotAuthenticated, match="HS256"):
        await authenticate(bearer(token), jwks_settings)


@pytest.fixture
def jwks_url(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> Iterator[str]:
    body = json.dumps(jwks(rsa_key, ec_key)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


async def test_jwks_url(jwks_url: str, rsa_key: rsa.RSAPrivateKey) -> None:
    settings = Settings(jwks_url=jwks_url)
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    principal = await authenticate(bearer(token), settings)
    assert principal.subject == "SE2321000016-DR01"
    with pytest.raises(NotAuthenticated):
        await authenticate(bearer(token + "x"), settings)


# --- HS256 and claims ---------------------------------------------------------------------


@pytest.fixture
def dev() -> Settings:
    return Settings(jwt_secret=SECRET)


async def test_expired_wrong_audience_or_issuer(dev: Settings) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    for token in (
        jwt.encode(claims(exp=past), SECRET, algorithm="HS256"),
        jwt.encode(claims(aud="someone-else"), SECRET, algorithm="HS256"),
        jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"),
        jwt.encode(claims(), "another-secret-of-enough-length-0123", algorithm="HS256"),
    ):
        with pytest.raises(NotAuthenticated):
            await authenticate(bearer(token), dev)


async def test_no_token_is_anonymous_and_bad_scheme_is_not(dev: Settings) -> None:
    assert (await authenticate(request({}), dev)).is_anonymous
    with pytest.raises(NotAuthenticated):
        await authenticate(request({"authorization": "Basic dXNlcjpwdw=="}), dev)


async def test_kind_specific_claims_are_required(dev: Settings) -> None:
    for token in (
        mint(dev, kind="clinician", subject="SE2321000016-DR01"),
        mint(dev, kind="patient", subject="191212121212"),
        mint(dev, kind="anonymous", subject="x"),
        mint(dev, kind="wizard", subject="x"),
    ):
        with pytest.raises(NotAuthenticated):
            await authenticate(bearer(token), dev)


async def test_proxy_claims(dev: Settings) -> None:
    token = mint(
        dev, kind="proxy", subject="198604092489", pnr="198604092489", represents="201908235623"
    )
    principal = await authenticate(bearer(token), dev)
    assert principal.kind is PrincipalKind.PROXY
    assert principal.person_identifier == "198604092489"
    assert principal.represented_identifier == "201908235623"
    assert principal.purpose is Purpose.PATRQT


# --- purpose and emergency reason ---------------------------------------------------------


async def test_purpose_header_overrides_claim(dev: Settings) -> None:
    token = mint(
        dev,
        kind="clinician",
        subject="SE1",
        purpose="TREAT",
        care_unit=UNIT,
        care_provider=PROVIDER,
    )
    principal = await authenticate(bearer(token, **{"X-Purpose-Of-Use": "admin"}), dev)
    assert principal.purpose is Purpose.ADMIN
    with pytest.raises(BadInput, match="purpose"):
        await authenticate(bearer(token, **{"X-Purpose-Of-Use": "CURIOSITY"}), dev)


async def test_emergency_needs_a_reason(dev: Settings) -> None:
    token = mint(dev, kind="clinician", subject="SE1", care_unit=UNIT, care_provider=PROVIDER)
    with pytest.raises(BadInput) as info:
        await authenticate(bearer(token, **{"X-Purpose-Of-Use": "ETREAT"}), dev)
    assert info.value.code == "EMERGENCY_REASON_REQUIRED"
    blank = {"X-Purpose-Of-Use": "ETREAT", "X-Emergency-Reason": "   "}
    with pytest.raises(BadInput):
        await authenticate(bearer(token, **blank), dev)


async def test_emergency_reason_in_utf8(dev: Settings) -> None:
    token = mint(dev, kind="clinician", subject="SE1", care_unit=UNIT, care_provider=PROVIDER)
    headers = {"X-Purpose-Of-Use": "ETREAT", "X-Emergency-Reason": "Medvetslös,  ej kontaktbar"}
    principal = await authenticate(bearer(token, **headers), dev)
    assert principal.purpose is Purpose.ETREAT
    assert principal.emergency_reason == "Medvetslös, ej kontaktbar"


async def test_reason_without_etreat_and_etreat_for_non_clinicians(dev: Settings) -> None:
    clinician = mint(dev, kind="clinician", subject="SE1", care_unit=UNIT, care_provider=PROVIDER)
    with pytest.raises(BadInput):
        await authenticate(bearer(clinician, **{"X-Emergency-Reason": "akut"}), dev)
    patient = mint(dev, kind="patient", subject="191212121212", pnr="191212121212")
    headers = {"X-Purpose-Of-Use": "ETREAT", "X-Emergency-Reason": "akut"}
    with pytest.raises(BadInput):
        await authenticate(bearer(patient, **headers), dev)


# --- verified-token cache --------------------------------------------------------------------


async def test_a_cached_token_still_expires_and_is_not_reused_across_settings(
    dev: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.auth as auth

    token = jwt.encode(claims(exp=datetime.now(UTC) + timedelta(seconds=30)), SECRET, "HS256")
    assert (await authenticate(bearer(token), dev)).subject == "SE2321000016-DR01"
    calls: list[str] = []
    real = auth._verify

    async def counted(raw: str, settings: Settings) -> dict[str, Any]:
        calls.append(raw)
        return await real(raw, settings)

    monkeypatch.setattr(auth, "_verify", counted)
    await authenticate(bearer(token), dev)
    assert calls == [], "the second request reuses the verified claims"
    # Another secret: the same token is verified anew, and fails.
    with pytest.raises(NotAuthenticated):
        await authenticate(bearer(token), Settings(jwt_secret="another-secret-0123456789-abcdef"))
    assert calls == [token]
    # Past the token's exp the entry is not used: the token is verified again (and PyJWT's
    # own exp check, test_expired_wrong_audience_or_issuer, refuses it then).
    later = time.time() + 31
    monkeypatch.setattr(time, "time", lambda: later)
    await authenticate(bearer(token), dev)
    assert calls == [token, token]
