"""The subcommands of `vardkedja`, each a function of (arguments, settings) -> exit code."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from app.cli import CommandError, UsageError, command, count, tcp_port

if TYPE_CHECKING:
    from app.settings import Settings

out = Console()
# More than the synthetic population can hold: unique personnummer run short (see
# docs/synthetic-data.md); a bigger count is refused before the database is touched.
MAX_SEED_PATIENTS = 10_000_000
SDL_PATH = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


@command("migrate", "upgrade the database schema to the newest version")
def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database

    with open_database(settings) as db:
        out.print(f"migrated {db.description} to head")
    return 0


def _seed_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--patients",
        type=count(0, MAX_SEED_PATIENTS),
        required=True,
        help=f"how many patients (at most {MAX_SEED_PATIENTS:,})",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")


@contextmanager
def _seed_progress(what: str, *, transient: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar that the seeder advances after every batch of patients; none when
    standard output is no terminal (a log gets the result line only)."""
    if not out.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=out, transient=transient) as bar:
        task = bar.add_task(what, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@command("seed", "load a synthetic Swedish population", _seed_args)
def seed_command(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database
    from app.seed import seed_population

    with open_database(settings) as db:
        with _seed_progress("seeding patients") as progress:
            stats = asyncio.run(
                seed_population(db.url, patients=args.patients, seed=args.seed, progress=progress)
            )
        out.print(f"seeded {stats} into {db.description}")
    return 0


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=tcp_port, default=None, help="port 1-65535 (default 8000)")
    parser.add_argument("--no-demo", action="store_true", help="do not seed an empty database")
    parser.add_argument(
        "--ssl-certfile", type=Path, default=None, help="serve HTTPS with this PEM certificate"
    )
    parser.add_argument(
        "--ssl-keyfile", type=Path, default=None, help="the certificate's PEM private key"
    )


@command(
    "serve", "run the API (embedded PostgreSQL unless a URL is set)", _serve_args, dev_keys=False
)
def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.audit_key_guard import (
        require_recorded_key,
        require_serving_keys,
        require_shared_audit_key,
    )
    from app.audit_partitions import create_months_ahead
    from app.main import create_app
    from app.observability.logs import uvicorn_options as logging_options
    from app.runtime import open_database
    from app.seed import seed_if_empty
    from app.serving import uvicorn_options as bounded_http
    from app.tokens import with_dev_keys

    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    _check_bindable(host, port)
    certfile, keyfile = _tls_files(args.ssl_certfile, args.ssl_keyfile)
    require_serving_keys(settings)  # before any database is touched
    configured_key = settings.audit_key
    settings = with_dev_keys(settings)  # the same dev secrets as `vardkedja token`
    # SIGTERM while the database starts or the demo data loads: stop the embedded server and
    # exit (an exception raised from the handler could land where it is swallowed).
    signal.signal(signal.SIGTERM, _terminate_while_starting)
    with open_database(settings) as db:
        require_shared_audit_key(settings, db.url, configured_key)
        require_recorded_key(settings, db.url)
        asyncio.run(create_months_ahead(settings.direct_url or db.url))
        if not args.no_demo:
            with _seed_progress("demo patients", transient=True) as progress:
                seeded = asyncio.run(
                    seed_if_empty(
                        db.url,
                        patients=settings.demo_patients,
                        seed=settings.demo_seed,
                        progress=progress,
                    )
                )
            if seeded is not None:
                out.print(f"seeded {seeded}")
        shown = f"[{host}]" if ":" in host else host
        scheme = "https" if certfile else "http"
        out.print(f"vardkedja on {scheme}://{shown}:{port}/graphql ({db.description})")
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it to the handler that was
        # installed before it; a no-op handler lets us stop the embedded server and exit 0.
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        uvicorn.run(
            create_app(settings, url=db.url),
            host=host,
            port=port,
            log_level="info",
            **bounded_http(settings),
            **logging_options(settings.log_format),
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
    out.print("stopped; the data stays")
    return 0


def _terminate_while_starting(signum: int, frame: object) -> None:
    """Exit 143 at once, stopping the embedded server unless another process holds it; open
    transactions (a migration, the demo data) are rolled back by PostgreSQL."""
    import os

    from app import embedded_leftover

    for pgdata in list(embedded_leftover.IN_USE):
        embedded_leftover.abandon(pgdata)
    os.write(2, b"stopped while starting (SIGTERM); the data stays as it was\n")
    os._exit(128 + signum)


def _tls_files(certfile: Path | None, keyfile: Path | None) -> tuple[str | None, str | None]:
    """uvicorn's TLS files (None, None: plain HTTP), checked before the database starts: both
    files or neither, and they must load as a certificate and its key (one line otherwise)."""
    import ssl

    if certfile is None and keyfile is None:
        return None, None
    if certfile is None or keyfile is None:
        raise UsageError("--ssl-certfile and --ssl-keyfile go together")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CommandError(f"cannot serve TLS with {certfile} and {keyfile}: {reason}") from None
    return str(certfile), str(keyfile)


def _check_bindable(host: str, port: int) -> None:
    """Refuse, in one line and before the database starts, a port outside 1-65535 or an address
    that cannot be bound (unknown, not this machine's, or in use): bound as uvicorn binds it."""
    import socket

    if not 1 <= port <= 65535:
        raise UsageError(f"port {port} is outside 1-65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family=family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except (OSError, UnicodeError, OverflowError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise CommandError(f"cannot listen on {host} port {port}: {reason}") from None


def _export_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")


@command("export-schema", "write the SDL to schema/schema.graphql", _export_args)
def export_schema_command(args: argparse.Namespace, settings: Settings) -> int:
    from schema.export import printed_schema

    sdl = printed_schema()
    if args.check:
        current = SDL_PATH.read_text() if SDL_PATH.exists() else ""
        if current != sdl:
            out.print(f"{SDL_PATH} is out of date: run `vardkedja export-schema`")
            return 1
        out.print(f"{SDL_PATH} is up to date")
        return 0
    SDL_PATH.write_text(sdl)
    out.print(f"wrote {SDL_PATH}")
    return 0
