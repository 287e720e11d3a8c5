"""`serve --ssl-certfile/--ssl-keyfile` answers HTTPS (a self-signed certificate made here);
files that do not load are refused in one line before the database starts."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app import migrate
from tests.integration.pgbouncer import _free_port

CODE = "import sys; from app.cli import main; sys.exit(main())"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    return os.environ | {
        "VARDKEDJA_DATABASE_URL": url,
        "VARDKEDJA_AUDIT_KEY": "tls-test-key",
        "VARDKEDJA_PSEUDONYM_KEY": "tls-test-pseudonym-key",
        "VARDKEDJA_DATA_DIR": str(tmp_path / "data"),
    }


def test_serve_answers_https(fresh_database: Callable[[], str], tmp_path: Path) -> None:
    url = fresh_database()
    migrate.upgrade(url)
    certfile, keyfile = self_signed(tmp_path)
    port = _free_port()
    args = ["serve", "--no-demo", "--port", str(port)]
    tls = ["--ssl-certfile", str(certfile), "--ssl-keyfile", str(keyfile)]
    process = subprocess.Popen(
        [sys.executable, "-c", CODE, *args, *tls],
        env=_env(url, tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    trusted = ssl.create_default_context(cafile=str(certfile))
    try:
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.get(f"https://127.0.0.1:{port}/readyz", verify=trusted)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answer is not None and answer.status_code == 200, answer
        assert answer.json()["status"] == "ready"
        # Plain HTTP on the same port gets no answer, and a client that does not trust the
        # certificate refuses it.
        try:
            plain: httpx.Response | None = httpx.get(f"http://127.0.0.1:{port}/healthz")
        except httpx.HTTPError:
            plain = None
        assert plain is None or plain.status_code == 400
        try:
            httpx.get(f"https://127.0.0.1:{port}/healthz")
            raise AssertionError("an untrusted certificate was accepted")
        except httpx.ConnectError as exc:
            assert "CERTIFICATE_VERIFY_FAILED" in str(exc)
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert f"https://127.0.0.1:{port}/graphql" in out


def test_files_that_do_not_load_are_one_line(
    fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    certfile, keyfile = self_signed(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, wrong_key = self_signed(other)
    url = "postgresql://nobody@127.0.0.1:1/never"  # refused before the database is touched
    cases = [
        (["--ssl-certfile", str(certfile)], 2, "go together"),
        (["--ssl-certfile", str(certfile), "--ssl-keyfile", str(wrong_key)], 1, "cannot serve TLS"),
        (
            ["--ssl-certfile", str(tmp_path / "none.pem"), "--ssl-keyfile", str(keyfile)],
            1,
            "cannot serve TLS",
        ),
    ]
    for tls, code, words in cases:
        done = subprocess.run(
            [sys.executable, "-c", CODE, "serve", "--port", str(_free_port()), *tls],
            env=_env(url, tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = done.stderr.strip().splitlines()
        assert done.returncode == code and len(lines) == 1 and words in lines[0], done.stderr
