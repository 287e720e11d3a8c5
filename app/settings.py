"""Configuration: one Settings object, read from VARDKEDJA_* environment variables."""

from __future__ import annotations

import os
import urllib.parse
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service. See README.md, "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="VARDKEDJA_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql:// URL of an external server; unset starts an embedded server.",
    )
    data_dir: Path = Field(
        default=Path(".vardkedja"),
        description="Where the embedded PostgreSQL keeps its data (persists between runs).",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port of `serve`.")
    demo_patients: int = Field(
        default=1000,
        ge=0,
        le=10_000_000,  # as `vardkedja seed --patients` (app/commands.py MAX_SEED_PATIENTS)
        description="Patients seeded by `serve` when the database is empty.",
    )
    demo_seed: int = 1
    pool_size: int = 10
    persisted_operations_only: bool = Field(
        default=False, description="Reject any operation that is not a shipped, named operation."
    )
    jwt_secret: str | None = Field(
        default=None,
        description="HS256 secret for development tokens; unset (and no JWKS) makes `serve` and "
        "`token` share a secret generated once in the data dir (see docs/privacy.md).",
    )
    audit_key: str | None = Field(
        default=None,
        description="HMAC key of the audit hash chain; unset uses one generated in the data dir.",
    )
    pseudonym_key: str | None = Field(
        default=None,
        description="HMAC key of research pseudonyms (A15); unset uses one in the data dir.",
    )
    jwks_file: Path | None = Field(default=None, description="JWKS file with verification keys.")
    jwks_url: str | None = Field(default=None, description="JWKS URL with verification keys.")
    jwt_issuer: str = "vardkedja-dev"
    jwt_audience: str = "vardkedja"
    access_policy: bool = Field(
        default=True, description="Benchmarks only: False switches policy and audit off."
    )
    compiled_operations: bool = Field(
        default=True,
        description="Answer the persisted operations that have a compiled form "
        "(resolvers/compiled/) with one SQL statement; False runs every operation through "
        "GraphQL execution.",
    )

    @field_validator("access_policy")
    @classmethod
    def _policy_stays_on_in_deployments(cls, value: bool) -> bool:
        # Only code (the benchmarks) may switch the policy and audit off, never the environment:
        # a stray variable in a deployment must not open every record.
        if not value and os.environ.get("VARDKEDJA_ACCESS_POLICY") is not None:
            raise ValueError("the access policy cannot be switched off through the environment")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_parses(cls, value: str | None) -> str | None:
        # Refused here, in one line, rather than deep in the driver with a traceback.
        if value:
            check_database_url(value)
        return value


class SettingsError(ValueError):
    """The environment's settings are invalid; the message is one readable line."""


def check_database_url(url: str) -> None:
    """Raise ValueError (one line) unless `url` is a postgresql:// URL whose hosts and ports
    parse: bracketed IPv6 hosts (`postgresql://[::1]:5432/db`) and libpq's comma-separated
    host lists are fine; a port outside 1-65535 is not."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
        raise ValueError(f"must start with postgresql://, got {scheme + sep or url[:20]!r}")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    for host in netloc.split(",") if netloc else []:
        try:
            port = urllib.parse.urlsplit(f"//{host}").port
        except ValueError:
            if host.count(":") > 1 and not host.startswith("["):
                raise ValueError(
                    f"IPv6 host {host!r} needs brackets, as in postgresql://[::1]:5432/db"
                ) from None
            raise ValueError(f"bad host or port {host!r} (the port must be 1-65535)") from None
        if port == 0:
            raise ValueError(f"bad port in {host!r} (the port must be 1-65535)")


def load_settings() -> Settings:
    """The environment's settings as they are; SettingsError (one line) when invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"VARDKEDJA_{'_'.join(str(p) for p in e['loc']).upper()}: "
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise SettingsError(f"invalid configuration: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The environment's settings, with development secrets filled from the data dir (so every
    command signs, chains and pseudonymises with the same keys as `serve`)."""
    from app.tokens import with_dev_keys

    return with_dev_keys(load_settings())
