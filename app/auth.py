"""Bearer token -> Principal. Tokens are JWTs verified with configured keys (an HS256 secret for
development, or a JWKS file or URL for production); the purpose of use and an emergency reason
come with each request as headers.

Every failure to verify is NotAuthenticated (HTTP 401); bad purpose headers are BadInput
(HTTP 400), a purpose that does not fit the principal's kind PURPOSE_NOT_ALLOWED (403), and a
header that is not UTF-8 BAD_REQUEST (400). Nothing here raises anything else, so a token can
never cause a 500.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
import urllib.parse
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from starlette.requests import Request

from app.access.principal import ANONYMOUS, Principal, PrincipalKind, Purpose
from app.errors import AppError, BadInput, Forbidden, NotAuthenticated
from app.settings import Settings

log = logging.getLogger("vardkedja.auth")

PURPOSE_HEADER = "x-purpose-of-use"
EMERGENCY_HEADER = "x-emergency-reason"
MAX_REASON = 500
# Which token algorithms a key type may verify (never let the token pick a weaker family).
FAMILIES = {
    "RSA": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
    "EC": {"ES256", "ES384", "ES512"},
    "OKP": {"EdDSA"},
}
ASYMMETRIC = sorted(set().union(*FAMILIES.values()))
# Claims each kind of principal must carry.
REQUIRED_CLAIMS = {
    PrincipalKind.CLINICIAN: ("care_unit", "care_provider"),
    PrincipalKind.PATIENT: ("pnr",),
    PrincipalKind.PROXY: ("pnr",),
    PrincipalKind.RESEARCH: ("study",),
}


@dataclass(frozen=True)
class _CachedJwks:
    mtime_ns: int
    keys: jwt.PyJWKSet


_jwks_files: dict[Path, _CachedJwks] = {}
_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def _jwks_from_file(path: Path) -> jwt.PyJWKSet:
    """The key set in `path`, re-read when the file changes (key rotation without restart)."""
    mtime = path.stat().st_mtime_ns
    cached = _jwks_files.get(path)
    if cached is None or cached.mtime_ns != mtime:
        cached = _CachedJwks(mtime, jwt.PyJWKSet.from_dict(json.loads(path.read_text())))
        _jwks_files[path] = cached
    return cached.keys


def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One client per URL: it caches the fetched keys between requests."""
    client = _jwks_clients.get(url)
    if client is None:
        client = _jwks_clients[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=300)
    return client


def _checked(key: jwt.PyJWK, alg: str) -> tuple[Any, list[str]]:
    """The key and the one algorithm it may verify this token with."""
    allowed = FAMILIES.get(str(key.key_type), set())
    declared = getattr(key, "_jwk_data", {}).get("alg")
    if alg not in allowed or (declared is not None and declared != alg):
        raise NotAuthenticated("the token's algorithm does not match its verification key")
    return key.key, [alg]


async def _key_for(token: str, settings: Settings) -> tuple[Any, list[str]]:
    header = jwt.get_unverified_header(token)
    alg = str(header.get("alg"))
    if alg == "HS256":
        if not settings.jwt_secret:
            raise NotAuthenticated("HS256 tokens are not accepted: no development secret is set")
        return settings.jwt_secret, ["HS256"]
    if alg not in ASYMMETRIC:
        raise NotAuthenticated(f"unsupported token algorithm {alg!r}")
    if settings.jwks_file is not None:
        try:
            jwks = _jwks_from_file(settings.jwks_file)
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            log.error("cannot read JWKS file %s: %s", settings.jwks_file, exc)
            raise NotAuthenticated("verification keys are unavailable") from None
        kid = header.get("kid")
        for key in jwks.keys:
            if kid is None or key.key_id == kid:
                return _checked(key, alg)
        raise NotAuthenticated("no verification key matches the token's kid")
    if settings.jwks_url is not None:
        client = _jwks_client(settings.jwks_url)
        # PyJWKClient fetches with blocking urllib: keep it off the event loop.
        key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
        return _checked(key, alg)
    raise NotAuthenticated("no verification key is configured for this token")


# A UI sends the same token with every request; verifying it again costs more than the rest of
# the authentication. Verified claims are kept until the token expires, and never longer than
# VERIFIED_TTL seconds, so a key withdrawn from the JWKS stops being accepted within that time.
VERIFIED_TTL = 60.0
VERIFIED_SIZE = 4096
_verified: OrderedDict[tuple[object, ...], tuple[float, dict[str, Any]]] = OrderedDict()


async def verify_token(token: str, settings: Settings) -> dict[str, Any]:
    """The verified claims of `token` (signature, exp, iss, aud); NotAuthenticated otherwise."""
    key = (
        token,
        settings.jwt_secret,
        settings.jwks_file,
        settings.jwks_url,
        settings.jwt_issuer,
        settings.jwt_audience,
    )
    now = time.time()
    cached = _verified.get(key)
    if cached is not None:
        if now < cached[0]:
            return dict(cached[1])
        del _verified[key]
    claims = await _verify(token, settings)
    _verified[key] = (min(float(claims["exp"]), now + VERIFIED_TTL), dict(claims))
    if len(_verified) > VERIFIED_SIZE:
        _verified.popitem(last=False)
    return claims


async def _verify(token: str, settings: Settings) -> dict[str, Any]:
    try:
        key, algorithms = await _key_for(token, settings)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(f"invalid token: {exc}") from None
    except (ValueError, TypeError) as exc:  # malformed keys or claims: still the token's fault
        raise NotAuthenticated(f"invalid token: {type(exc).__name__}") from None
    return claims


def _text(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise NotAuthenticated(f"the token's {name!r} claim must be a string")
    return value


def principal_from_claims(
    claims: dict[str, Any], purpose: Purpose | None, emergency_reason: str | None
) -> Principal:
    """The principal a verified token describes (no database: proxies are resolved to the
    represented patient by the policy)."""
    try:
        kind = PrincipalKind(claims["kind"])
    except (KeyError, ValueError, TypeError):
        raise NotAuthenticated("the token has no valid 'kind' claim") from None
    if kind is PrincipalKind.ANONYMOUS:
        raise NotAuthenticated("the token has no valid 'kind' claim")
    missing = [name for name in REQUIRED_CLAIMS.get(kind, ()) if not claims.get(name)]
    if missing:
        raise NotAuthenticated(f"a {kind.value} token needs the claims {', '.join(missing)}")
    return Principal(
        kind=kind,
        subject=str(claims.get("sub", "")),
        name=_text(claims, "name"),
        purpose=purpose or _default_purpose(kind),
        client_id=_text(claims, "client_id") or _text(claims, "azp"),
        role=_text(claims, "role"),
        care_unit_hsa_id=_text(claims, "care_unit"),
        care_provider_hsa_id=_text(claims, "care_provider"),
        assignment_id=_text(claims, "assignment"),
        person_identifier=_text(claims, "pnr"),
        represented_identifier=_text(claims, "represents"),
        emergency_reason=emergency_reason,
        study_id=_study(claims) if kind is PrincipalKind.RESEARCH else None,
    )


def _study(claims: dict[str, Any]) -> uuid.UUID:
    try:
        return study_id_of(_text(claims, "study") or "")
    except ValueError:
        raise NotAuthenticated("the token's 'study' claim must be a research study's id") from None


def study_id_of(text: str) -> uuid.UUID:
    """A research study named by its global id (as `study(id:)` takes it) or its uuid;
    ValueError for anything else."""
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        kind, _, raw = decoded.partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        kind, raw = "", ""
    if kind != "ResearchStudy":
        raise ValueError(text)
    return uuid.UUID(raw)


def _default_purpose(kind: PrincipalKind) -> Purpose | None:
    return {
        PrincipalKind.CLINICIAN: Purpose.TREAT,
        PrincipalKind.PATIENT: Purpose.PATRQT,
        PrincipalKind.PROXY: Purpose.PATRQT,
        PrincipalKind.RESEARCH: Purpose.RESEARCH,
        PrincipalKind.SYSTEM: Purpose.ADMIN,
    }.get(kind)


# The purposes each kind of principal may state (DOMAIN.md section 7). A purpose outside its
# kind's set would be audited under a false label (a patient's read logged as care), so it is
# refused before anything is read. Clinicians: care, emergency care, and administrative work
# (which the policy gives no patient records); systems: administration only.
ALLOWED_PURPOSES: dict[PrincipalKind, frozenset[Purpose]] = {
    PrincipalKind.CLINICIAN: frozenset({Purpose.TREAT, Purpose.ETREAT, Purpose.ADMIN}),
    PrincipalKind.PATIENT: frozenset({Purpose.PATRQT}),
    PrincipalKind.PROXY: frozenset({Purpose.PATRQT}),
    PrincipalKind.RESEARCH: frozenset({Purpose.RESEARCH}),
    PrincipalKind.SYSTEM: frozenset({Purpose.ADMIN}),
}


def check_purpose(principal: Principal) -> Principal:
    """The principal, if its purpose of use fits its kind; PURPOSE_NOT_ALLOWED otherwise."""
    allowed = ALLOWED_PURPOSES.get(principal.kind, frozenset())
    if principal.purpose not in allowed:
        stated = principal.purpose.value if principal.purpose else "none"
        names = ", ".join(sorted(p.value for p in allowed))
        raise Forbidden(
            f"purpose of use {stated} is not allowed for a {principal.kind.value}; use {names}",
            code="PURPOSE_NOT_ALLOWED",
            field="X-Purpose-Of-Use",
            rule="purpose_for_kind",
        )
    return principal


def header_text(request: Request, name: str) -> str | None:
    """A header's value decoded as UTF-8, strictly: bytes that are not UTF-8 are refused
    (BAD_REQUEST naming the header) rather than stored garbled. Starlette decodes header
    bytes as Latin-1, which never fails and so never tells."""
    wanted = name.lower().encode("latin-1")
    for key, value in request.scope.get("headers", ()):
        if key.lower() == wanted:
            try:
                return bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise AppError(
                    f"the {_display(name)} header is not valid UTF-8 (a browser sends "
                    f"{EXT_VALUE_PREFIX}<percent-encoded UTF-8> instead)",
                    code="BAD_REQUEST",
                    field=_display(name),
                    rule="utf8",
                ) from None
    return None


def _display(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def _purpose(raw: str | None) -> Purpose | None:
    if not raw:
        return None
    try:
        return Purpose(raw.strip().upper())
    except ValueError:
        allowed = ", ".join(p.value for p in Purpose)
        raise BadInput(
            f"unknown purpose of use {raw!r}; use one of {allowed}",
            field="X-Purpose-Of-Use",
            rule="purpose",
        ) from None


# RFC 8187's ext-value: browsers cannot send UTF-8 bytes in a header (fetch sends å as the
# Latin-1 byte), so a browser client sends `UTF-8''` and the percent-encoded UTF-8 text.
EXT_VALUE_PREFIX = "UTF-8''"


def _reason(raw: str | None) -> str | None:
    """The emergency reason (decoded strictly as UTF-8, raw or as an RFC 8187 ext-value),
    whitespace collapsed."""
    if raw is None:
        return None
    if raw[: len(EXT_VALUE_PREFIX)].upper() == EXT_VALUE_PREFIX.upper():
        try:
            raw = urllib.parse.unquote(raw[len(EXT_VALUE_PREFIX) :], errors="strict")
        except UnicodeDecodeError:
            raise AppError(
                "the X-Emergency-Reason header's percent-encoded text is not valid UTF-8",
                code="BAD_REQUEST",
                field="X-Emergency-Reason",
                rule="utf8",
            ) from None
    reason = " ".join(raw.split())
    if len(reason) > MAX_REASON:
        raise BadInput(
            f"the emergency reason is longer than {MAX_REASON} characters",
            field="X-Emergency-Reason",
            rule="max_length",
        )
    return reason or None


def check_emergency(principal: Principal) -> Principal:
    """A6: ETREAT needs a stated reason, only clinicians have emergencies, and a reason
    without ETREAT would mislabel an ordinary request as an emergency in the log."""
    etreat = principal.purpose is Purpose.ETREAT
    if etreat and principal.kind is not PrincipalKind.CLINICIAN:
        raise BadInput(
            "purpose ETREAT (emergency access) is for clinicians only",
            field="X-Purpose-Of-Use",
            rule="emergency_clinician",
        )
    if etreat and not principal.emergency_reason:
        raise BadInput(
            "emergency access (purpose ETREAT) needs a reason in the X-Emergency-Reason header",
            code="EMERGENCY_REASON_REQUIRED",
            field="X-Emergency-Reason",
            rule="required",
        )
    if principal.emergency_reason and not etreat:
        raise BadInput(
            "X-Emergency-Reason is only for purpose ETREAT (emergency access)",
            field="X-Emergency-Reason",
            rule="emergency_purpose",
        )
    return principal


async def authenticate(request: Request, settings: Settings) -> Principal:
    """The request's principal; no Authorization header means ANONYMOUS (sees no patient)."""
    header = header_text(request, "authorization")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Authorization must be 'Bearer <token>'")
    claims = await verify_token(token.strip(), settings)
    claimed = claims.get("purpose")
    purpose = _purpose(header_text(request, PURPOSE_HEADER) or (str(claimed) if claimed else None))
    reason = _reason(header_text(request, EMERGENCY_HEADER))
    return check_purpose(check_emergency(principal_from_claims(claims, purpose, reason)))
