"""Configuration: one Settings object, read from VARDKEDJA_* environment variables."""

from __future__ import annotations

import os
import urllib.parse
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service. See README.md, "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="VARDKEDJA_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql:// URL of an external server; unset starts an embedded server.",
    )
    pgbouncer: bool = Field(
        default=False,
        description="The database URL is a PgBouncer in transaction pooling mode: no prepared "
        "statement outlives its transaction (docs/operations.md).",
    )
    direct_url: str | None = Field(
        default=None,
        description="postgresql:// URL of the server itself, for what needs a session of its "
        "own (migrations, LISTEN for subscriptions) when the database URL is a PgBouncer.",
        validate_default=True,
    )
    replica_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated postgresql:// URLs of streaming standbys: GraphQL queries "
        "read from them, mutations and the audit trail go to the primary (docs/operations.md).",
    )
    replica_wait: float = Field(
        default=0.2,
        ge=0,
        description="Seconds a query that carries its client's last write position "
        "(Vardkedja-LSN) waits for a standby to replay it before it reads from the primary.",
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
    pool_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a request waits for a pooled connection (and a new connection for "
        "the server's answer) before it is answered 503 SERVICE_UNAVAILABLE.",
    )
    retry_after: int = Field(
        default=5, ge=1, description="Seconds in the Retry-After header of a 503 answer."
    )
    statement_timeout: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a request's SQL may run (PostgreSQL statement_timeout, per "
        "transaction); longer is REQUEST_TIMEOUT. 0 means no limit.",
    )
    max_response_bytes: int = Field(
        default=10_000_000,
        gt=0,
        description="Largest JSON answer sent; larger is RESPONSE_TOO_LARGE.",
    )
    fhir_export_retention: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds a Bulk Data $export job and its files are kept after it finished "
        "(or after its kick-off while it waits); then they are deleted.",
    )
    max_header_bytes: int = Field(
        default=32_768,
        ge=1024,
        description="Largest request line plus headers `serve` reads; larger is HTTP 431.",
    )
    rate_limit_per_second: float = Field(
        default=20.0,
        ge=0,
        description="Requests per second each principal (token subject) may make on average; "
        "0 turns rate limiting off.",
    )
    rate_limit_burst: int = Field(
        default=100, ge=1, description="Requests a principal may make at once above the rate."
    )
    rate_limit_address_per_second: float = Field(
        default=50.0,
        ge=0,
        description="Requests per second from one client address (all principals and anonymous "
        "callers together); 0 turns it off.",
    )
    rate_limit_address_burst: int = Field(
        default=200, ge=1, description="Requests one address may make at once above the rate."
    )
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
    audit_previous_keys: str | None = Field(
        default=None,
        description="Earlier audit keys, oldest first, comma-separated: `audit verify` checks "
        "entries made before a key rotation with them (docs/privacy.md).",
    )
    pseudonym_key: str | None = Field(
        default=None,
        description="HMAC key of research pseudonyms (A15); unset uses one in the data dir.",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="A file holding VARDKEDJA_AUDIT_KEY (Docker or Kubernetes secrets); "
        "setting both is refused.",
    )
    pseudonym_key_file: Path | None = Field(
        default=None, description="A file holding VARDKEDJA_PSEUDONYM_KEY; setting both is refused."
    )
    jwt_secret_file: Path | None = Field(
        default=None, description="A file holding VARDKEDJA_JWT_SECRET; setting both is refused."
    )
    database_url_file: Path | None = Field(
        default=None,
        description="A file holding VARDKEDJA_DATABASE_URL (its password); setting both is "
        "refused.",
    )
    development: bool = Field(
        default=False,
        description="Explicit development mode: `serve` on an external database may then run "
        "without VARDKEDJA_AUDIT_KEY and VARDKEDJA_PSEUDONYM_KEY (it generates them in the data "
        "dir, as the embedded default does).",
    )
    jwks_file: Path | None = Field(default=None, description="JWKS file with verification keys.")
    jwks_url: str | None = Field(default=None, description="JWKS URL with verification keys.")
    jwt_issuer: str = "vardkedja-dev"
    jwt_audience: str = "vardkedja"
    access_policy: bool = Field(
        default=True, description="Benchmarks only: False switches policy and audit off."
    )
    max_cost: int = Field(
        default=50_000,
        gt=0,
        description="Largest estimated result (values) of one operation for clinicians; more "
        "is refused with QUERY_TOO_COSTLY before any SQL.",
    )
    max_cost_system: int = Field(
        default=250_000,
        gt=0,
        description="The same ceiling for system integrations (bulk reads of many patients).",
    )
    max_cost_public: int = Field(
        default=10_000,
        gt=0,
        description="The same ceiling for patients, proxies, research clients and anonymous "
        "callers.",
    )
    change_log_retention_days: int = Field(
        default=90,
        ge=1,
        description="Days the change log keeps (whole month partitions are dropped once they "
        "end before now minus this; `vardkedja changes maintain`).",
    )
    webhooks_in_server: bool = Field(
        default=True,
        description="Run the webhook worker inside `serve` (False: run `vardkedja worker`).",
    )
    planner: bool = Field(
        default=True,
        description="Answer queries with the planner (resolvers/planner/): the parts of a "
        "document it can plan are read with one SQL statement, the rest through GraphQL "
        "execution; False runs every query through GraphQL execution (docs/performance.md).",
    )
    fused_reads: bool = Field(
        default=True,
        description="Send a planned read of one patient with the policy's facts statement, "
        "as the plan predicted from the caller's earlier reads with the document (used only "
        "if the decision made from those facts chooses it again: docs/planner.md); False: "
        "the facts and the read are two statements.",
    )

    # Operations (app/observability/, app/cors.py); see docs/operations.md.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated browser origins (scheme://host[:port]) that may call the "
        "API from another site; empty: none.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json`: one JSON object per log line, with the request id."
    )
    metrics: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    tracing: Literal["off", "console", "otlp"] = Field(
        default="off",
        description="OpenTelemetry spans: `console` prints them as JSON to stderr, `otlp` sends "
        "them to a collector over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT; needs the `tracing` "
        "extra).",
    )

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: object) -> object:
        # Secrets mounted as files keep them out of the process environment (and out of
        # `docker inspect`); the file's content is the value, without its final newline.
        if not isinstance(data, dict):
            return data
        for name in SECRET_FILE_FIELDS:
            path = data.get(f"{name}_file")
            if not path:
                continue
            if data.get(name):
                raise ValueError(
                    f"set VARDKEDJA_{name.upper()} or VARDKEDJA_{name.upper()}_FILE, not both"
                )
            try:
                value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(
                    f"VARDKEDJA_{name.upper()}_FILE: cannot read {path}: {exc.strerror}"
                ) from None
            if not value:
                raise ValueError(f"VARDKEDJA_{name.upper()}_FILE: {path} is empty")
            data = {**data, name: value}
        return data

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str]) -> list[str]:
        from app.cors import check_origin

        return [check_origin(origin) for origin in value]

    @field_validator("replica_urls", mode="before")
    @classmethod
    def _split_replicas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("replica_urls")
    @classmethod
    def _replica_urls_parse(cls, value: list[str]) -> list[str]:
        for url in value:
            check_database_url(url)
        return value

    @field_validator("direct_url")
    @classmethod
    def _pgbouncer_needs_a_direct_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Subscriptions LISTEN on a session of their own, which transaction pooling does not
        # keep: without the server's own URL they would silently receive nothing.
        if info.data.get("pgbouncer") and not value:
            raise ValueError("VARDKEDJA_PGBOUNCER=true needs the server's own URL here")
        return value

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


# The settings that may come from a file named by VARDKEDJA_<NAME>_FILE.
SECRET_FILE_FIELDS = ("audit_key", "pseudonym_key", "jwt_secret", "database_url")


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
            (f"VARDKEDJA_{'_'.join(str(p) for p in e['loc']).upper()}: " if e["loc"] else "")
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
