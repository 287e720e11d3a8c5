"""Development tokens (HS256) that fit the demo data; production verifies keys from a JWKS.

Without configuration a new user's `vardkedja token` and `vardkedja serve` must agree on a
secret: `with_dev_keys` fills the unset secrets from files generated once in the data dir
(`.vardkedja/dev-jwt-secret`, `dev-audit-key`, `dev-pseudonym-key`). The JWT secret is only
generated when no JWKS is configured, so a production setup never accepts HS256 by accident.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt

from app.models.base import utcnow
from app.settings import Settings

log = logging.getLogger("vardkedja.tokens")


def dev_secret(data_dir: Path, name: str) -> str:
    """The secret in `data_dir/dev-<name>`, created (mode 0600) on first use."""
    path = data_dir / f"dev-{name}"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def with_dev_keys(settings: Settings) -> Settings:
    """`settings` with unset development secrets filled from the data dir.

    A data dir that cannot be written leaves them unset (with a warning): configure
    VARDKEDJA_JWT_SECRET or a JWKS, VARDKEDJA_AUDIT_KEY and VARDKEDJA_PSEUDONYM_KEY instead.
    """
    wanted = []
    if not settings.jwt_secret and settings.jwks_file is None and settings.jwks_url is None:
        wanted.append(("jwt_secret", "jwt-secret"))
    if not settings.audit_key:
        wanted.append(("audit_key", "audit-key"))
    if not settings.pseudonym_key:
        wanted.append(("pseudonym_key", "pseudonym-key"))
    update: dict[str, str] = {}
    for name, file in wanted:
        try:
            update[name] = dev_secret(settings.data_dir, file)
        except OSError as exc:
            log.warning(
                "no %s: cannot keep a development secret in %s (%s)", name, settings.data_dir, exc
            )
    return settings.model_copy(update=update) if update else settings


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
