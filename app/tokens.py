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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.settings import Settings

log = logging.getLogger("vardkedja.tokens")


class DevKeyError(RuntimeError):
    """A development secret is needed but cannot be kept in the data dir; one line."""


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
    failed: list[str] = []
    reason = ""
    for name, file in wanted:
        try:
            update[name] = dev_secret(settings.data_dir, file)
        except OSError as exc:
            failed.append(name)
            reason = exc.strerror or str(exc)
    # One line; none when the folder cannot even be made and the embedded server is to live
    # in it: its failure to start is the error the user needs.
    if failed and (settings.database_url or settings.data_dir.is_dir()):
        log.warning(
            "no %s: cannot keep development secrets in %s (%s)",
            ", ".join(failed),
            settings.data_dir,
            reason,
        )
    return settings.model_copy(update=update) if update else settings


def dev_jwt_secret(settings: Settings) -> Settings:
    """`settings` with a JWT secret: the configured one, else the data dir's development secret;
    DevKeyError when neither is possible (a JWKS is configured, or the folder is unwritable)."""
    if settings.jwt_secret:
        return settings
    if settings.jwks_file is not None or settings.jwks_url is not None:
        raise DevKeyError(
            "a JWKS is configured, so there is no development secret: set VARDKEDJA_JWT_SECRET "
            "to mint development tokens"
        )
    try:
        secret = dev_secret(settings.data_dir, "jwt-secret")
    except OSError as exc:
        raise DevKeyError(
            f"cannot keep the development JWT secret in {settings.data_dir} "
            f"({exc.strerror or exc}): set VARDKEDJA_JWT_SECRET or a writable VARDKEDJA_DATA_DIR"
        ) from None
    return settings.model_copy(update={"jwt_secret": secret})


def mint(settings: Settings, *, kind: str, subject: str, hours: float = 8, **claims: Any) -> str:
    """A signed HS256 token for the development secret."""
    import jwt

    if not settings.jwt_secret:
        raise DevKeyError("set VARDKEDJA_JWT_SECRET to mint development tokens")
    now = datetime.now(UTC)
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
