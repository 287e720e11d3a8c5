"""Development tokens (HS256) that fit the demo data; production verifies keys from a JWKS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt

from app.models.base import utcnow
from app.settings import Settings


def mint(settings: Settings, *, kind: str, subject: str, hours: float = 8, **claims: Any) -> str:
    """A signed HS256 token for the development secret."""
    if not settings.jwt_secret:
        raise ValueError("set VARDKEDJA_JWT_SECRET to mint development tokens")
    now = utcnow()
    payload = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "kind": kind,
        "iat": now,
        "exp": now + timedelta(hours=hours),
        **{k: v for k, v in claims.items() if v is not None},
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")
