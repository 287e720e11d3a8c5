"""The subcommands of `vardkedja`, each a function of (arguments, settings) -> exit code."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from app.cli import command, positive_int
from app.runtime import open_database
from app.settings import Settings

out = Console()
SDL_PATH = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


@command("migrate", "upgrade the database schema to the newest version")
def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as db:
        out.print(f"migrated {db.description} to head")
    return 0


def _seed_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patients", type=positive_int, required=True, help="how many patients")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")


@contextmanager
def _seed_progress(what: str, *, transient: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar that the seeder advances after every batch of patients."""
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
    from app.seed import SeedAlreadyLoaded, seed_population

    with open_database(settings) as db:
        try:
            with _seed_progress("seeding patients") as progress:
                stats = asyncio.run(
                    seed_population(
                        db.url, patients=args.patients, seed=args.seed, progress=progress
                    )
                )
        except SeedAlreadyLoaded as exc:
            out.print(f"[red]error:[/red] {exc}", highlight=False)
            return 1
        out.print(f"seeded {stats} into {db.description}")
    return 0


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=positive_int, default=None, help="port (default 8000)")
    parser.add_argument("--no-demo", action="store_true", help="do not seed an empty database")


@command("serve", "run the API (embedded PostgreSQL unless a URL is set)", _serve_args)
def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.audit_key_guard import configured_audit_key, require_shared_audit_key
    from app.main import create_app
    from app.seed import seed_if_empty
    from app.serving import uvicorn_options
    from app.tokens import with_dev_keys

    settings = with_dev_keys(settings)  # the same dev secrets as `vardkedja token`
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    with open_database(settings) as db:
        require_shared_audit_key(settings, db.url, configured_audit_key())
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
        out.print(f"vardkedja on http://{host}:{port}/graphql ({db.description})")
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it to the handler that was
        # installed before it; a no-op handler lets us stop the embedded server and exit 0.
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        uvicorn.run(
            create_app(settings, url=db.url),
            host=host,
            port=port,
            log_level="info",
            **uvicorn_options(settings),
        )
    out.print("stopped; the data stays")
    return 0


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
