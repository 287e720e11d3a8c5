"""Bearer token -> Principal. Tokens are JWTs verified with configured keys (HS256 secret for
development, or a JWKS file/URL); the purpose of use comes with the request."""

from __future__ import annotations

import json
from typing import Any

import jwt
from starlette.requests import Request

from app.access.principal import ANONYMOUS, Principal, PrincipalKind, Purpose
from app.errors import NotAuthenticated
from app.settings import Settings

PURPOSE_HEADER = "x-purpose-of-use"
EMERGENCY_HEADER = "x-emergency-reason"
ASYMMETRIC = ["RS256", "ES256", "PS256", "EdDSA"]


def _key_for(token: str, settings: Settings) -> tuple[Any, list[str]]:
    header = jwt.get_unverified_header(token)
    if header.get("alg") == "HS256":
        if not settings.jwt_secret:
            raise NotAuthenticated("HS256 tokens are not accepted: no development secret is set")
        return settings.jwt_secret, ["HS256"]
    if settings.jwks_file is not None:
        jwks = jwt.PyJWKSet.from_dict(json.loads(settings.jwks_file.read_text()))
        kid = header.get("kid")
        for key in jwks.keys:
            if kid is None or key.key_id == kid:
                return key.key, ASYMMETRIC
        raise NotAuthenticated("no verification key matches the token's kid")
    if settings.jwks_url is not None:
        return jwt.PyJWKClient(settings.jwks_url).get_signing_key_from_jwt(token).key, ASYMMETRIC
    raise NotAuthenticated("no verification key is configured for this token")


def principal_from_claims(
    claims: dict[str, Any], purpose: Purpose | None, emergency_reason: str | None
) -> Principal:
    try:
        kind = PrincipalKind(claims["kind"])
    except (KeyError, ValueError):
        raise NotAuthenticated("the token has no valid 'kind' claim") from None
    if kind is PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("the token has no valid 'kind' claim")
    return Principal(
        kind=kind,
        subject=str(claims.get("sub", "")),
        name=claims.get("name"),
        purpose=purpose or _default_purpose(kind),
        client_id=claims.get("client_id") or claims.get("azp"),
        role=claims.get("role"),
        care_unit_hsa_id=claims.get("care_unit"),
        care_provider_hsa_id=claims.get("care_provider"),
        assignment_id=claims.get("assignment"),
        person_identifier=claims.get("pnr"),
        represented_identifier=claims.get("represents"),
        emergency_reason=emergency_reason,
    )


def _default_purpose(kind: PrincipalKind) -> Purpose | None:
    return {
        PrincipalKind.CLINICIAN: Purpose.TREAT,
        PrincipalKind.PATIENT: Purpose.PATRQT,
        PrincipalKind.PROXY: Purpose.PATRQT,
        PrincipalKind.RESEARCH: Purpose.RESEARCH,
        PrincipalKind.SYSTEM: Purpose.ADMIN,
    }.get(kind)


def verify_token(token: str, settings: Settings) -> dict[str, Any]:
    try:
        key, algorithms = _key_for(token, settings)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(f"invalid token: {exc}") from None
    return claims


async def authenticate(request: Request, settings: Settings) -> Principal:
    """The request's principal; no Authorization header means ANONYMOUS (sees no patient)."""
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("Authorization must be 'Bearer <token>'")
    claims = verify_token(token.strip(), settings)
    raw_purpose = request.headers.get(PURPOSE_HEADER) or claims.get("purpose")
    try:
        purpose = Purpose(raw_purpose) if raw_purpose else None
    except ValueError:
        allowed = ", ".join(p.value for p in Purpose)
        raise NotAuthenticated(
            f"unknown purpose of use {raw_purpose!r}; use one of {allowed}"
        ) from None
    return principal_from_claims(claims, purpose, request.headers.get(EMERGENCY_HEADER))
