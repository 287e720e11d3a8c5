"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the properties an
operator relies on (no install at start, no secret with a default, no demo data unless asked,
no superuser for the API), and compose's variable interpolation simulated to show that a
missing key stops `docker compose up`. Then `docker compose config` (or Debian's docker-compose,
installed when missing) resolves the file with real-looking secrets: each service's role and
keys, and a missing key refused. No engine here: the image itself is not built."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.debian import ensure_package

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
INITDB = ROOT / "docker" / "initdb" / "10-vardkedja-roles.sh"
SECRET = re.compile(r"KEY|SECRET|PASSWORD", re.IGNORECASE)
REQUIRED = {
    "POSTGRES_PASSWORD",
    "VARDKEDJA_OWNER_PASSWORD",
    "VARDKEDJA_APP_PASSWORD",
    "VARDKEDJA_AUDIT_KEY",
    "VARDKEDJA_PSEUDONYM_KEY",
    "VARDKEDJA_JWT_ISSUER",
    "VARDKEDJA_JWT_AUDIENCE",
}
FULL_ENV = {name: f"value-of-{name.lower()}" for name in REQUIRED}


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} on every string of `value`."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise MissingVariable(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", one, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_the_api_is_built_from_the_dockerfile_and_installs_nothing_at_start(
    compose: dict[str, Any],
) -> None:
    for name in ("migrate", "api"):
        service = compose["services"][name]
        assert service["build"] == "."
        assert "volumes" not in service  # no source mount
        assert "pip" not in " ".join(service["command"])
    dockerfile = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) == 2  # multi-stage
    assert "pip wheel" in dockerfile
    assert "--no-index" in dockerfile  # the final stage installs only the built wheels
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user and user[-1].split(":")[0] not in ("root", "0")


def test_no_secret_has_a_value_or_default_in_the_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if value is None:
                continue  # passed through from the operator's environment when set
            for inner, op, _ in re.findall(r"\$\{([A-Z0-9_]+)(:[-?])?([^}]*)\}", value):
                if SECRET.search(inner):
                    assert op == ":?", f"{name}.{variable}: ${{{inner}}} must be required"
            literal = re.sub(r"\$\{[^}]*\}", "", value)
            if SECRET.search(variable):
                assert literal == "", f"{name}.{variable} holds a literal secret"
            password = re.match(r"postgresql://[^:@/]+:([^@]*)@", literal)
            assert password is None or password.group(1) == "", (
                f"{name}.{variable}: a password written into the URL"
            )


def test_every_required_secret_stops_compose_when_missing(compose: dict[str, Any]) -> None:
    resolved = interpolate(compose, FULL_ENV)
    api = resolved["services"]["api"]["environment"]
    assert api["VARDKEDJA_AUDIT_KEY"] == FULL_ENV["VARDKEDJA_AUDIT_KEY"]
    assert api["VARDKEDJA_PSEUDONYM_KEY"] == FULL_ENV["VARDKEDJA_PSEUDONYM_KEY"]
    for name in sorted(REQUIRED):
        with pytest.raises(MissingVariable, match=name):
            interpolate(compose, {k: v for k, v in FULL_ENV.items() if k != name})


def test_token_keys_are_passed_through_not_defaulted(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]["environment"]
    assert api["VARDKEDJA_JWKS_URL"] is None
    assert api["VARDKEDJA_JWT_SECRET"] is None
    assert "change-me" not in COMPOSE.read_text()


def test_no_demo_data_unless_asked(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert "--no-demo" in api["command"]
    seeding = [n for n, s in compose["services"].items() if "seed" in s.get("command", [])]
    assert seeding == ["seed"]
    assert compose["services"]["seed"]["profiles"] == ["demo"]


def test_the_api_connects_as_the_restricted_role_after_migrations(
    compose: dict[str, Any],
) -> None:
    resolved = interpolate(compose, FULL_ENV)["services"]
    api_url = resolved["api"]["environment"]["VARDKEDJA_DATABASE_URL"]
    migrate_url = resolved["migrate"]["environment"]["VARDKEDJA_DATABASE_URL"]
    assert api_url.startswith("postgresql://vardkedja_app:")
    assert migrate_url.startswith("postgresql://vardkedja_owner:")
    assert compose["services"]["api"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    script = INITDB.read_text()
    assert re.search(r"CREATE ROLE vardkedja_app LOGIN NOSUPERUSER", script)
    assert re.search(r"CREATE ROLE vardkedja_owner LOGIN NOSUPERUSER", script)
    assert "GRANT vardkedja_api TO vardkedja_app;" in script
    assert (
        "./docker/initdb:/docker-entrypoint-initdb.d:ro"
        in compose["services"]["postgres"]["volumes"]
    )


def test_only_the_api_is_published_and_only_on_the_loopback(compose: dict[str, Any]) -> None:
    published = {n: s["ports"] for n, s in compose["services"].items() if "ports" in s}
    assert published == {"api": ["127.0.0.1:8000:8000"]}


def compose_client() -> list[str]:
    """`docker compose` where the plugin exists, else Debian's docker-compose (installed by
    apt-get as root when missing; .ci/run installs it): `config` needs no engine."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    return [ensure_package("/usr/bin/docker-compose", "docker-compose")]


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_client(), "-f", str(COMPOSE), "--profile", "demo", "config"],
        env=env | {"PATH": "/usr/local/bin:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def published(port: str | dict[str, Any]) -> str:
    """host:port:target, from docker-compose's short form or compose v2's long one."""
    if isinstance(port, str):
        return port.split("/")[0]
    return f"{port['host_ip']}:{port['published']}:{port['target']}"


def test_docker_compose_config_with_real_secrets_gives_each_service_its_role() -> None:
    real = {name: secrets.token_urlsafe(32) for name in REQUIRED if SECRET.search(name)}
    real |= {"VARDKEDJA_JWT_ISSUER": "https://idp.region.example/", "VARDKEDJA_JWT_AUDIENCE": "vk"}
    real["VARDKEDJA_JWT_SECRET"] = secrets.token_hex(32)
    done = compose_config(real)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert set(services) == {"postgres", "migrate", "api", "seed"}
    assert services["seed"]["profiles"] == ["demo"]
    owner = (
        f"postgresql://vardkedja_owner:{real['VARDKEDJA_OWNER_PASSWORD']}@postgres:5432/vardkedja"
    )
    app = f"postgresql://vardkedja_app:{real['VARDKEDJA_APP_PASSWORD']}@postgres:5432/vardkedja"
    assert services["migrate"]["environment"]["VARDKEDJA_DATABASE_URL"] == owner
    assert services["seed"]["environment"]["VARDKEDJA_DATABASE_URL"] == owner
    api = services["api"]
    assert api["environment"]["VARDKEDJA_DATABASE_URL"] == app
    for key in ("VARDKEDJA_AUDIT_KEY", "VARDKEDJA_PSEUDONYM_KEY", "VARDKEDJA_JWT_SECRET"):
        assert api["environment"][key] == real[key], key
    assert api["environment"]["VARDKEDJA_JWT_ISSUER"] == real["VARDKEDJA_JWT_ISSUER"]
    assert api["environment"].get("VARDKEDJA_JWKS_URL") is None  # not set: not passed
    assert api["command"] == ["serve", "--no-demo", "--host", "0.0.0.0", "--port", "8000"]
    assert api["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert api["read_only"] is True
    assert [published(port) for port in api["ports"]] == ["127.0.0.1:8000:8000"]
    assert services["postgres"]["environment"] == {
        name: real[name]
        for name in ("POSTGRES_PASSWORD", "VARDKEDJA_OWNER_PASSWORD", "VARDKEDJA_APP_PASSWORD")
    }


def test_docker_compose_config_stops_on_a_missing_key() -> None:
    partial = {name: secrets.token_hex(16) for name in REQUIRED if name != "VARDKEDJA_AUDIT_KEY"}
    done = compose_config(partial)
    assert done.returncode != 0
    assert "set VARDKEDJA_AUDIT_KEY (HMAC key of the audit chain" in done.stderr
