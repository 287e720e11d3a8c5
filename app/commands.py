"""The subcommands of `vardkedja`, each a function of (arguments, settings) -> exit code."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rich.console import Console

from app.cli import command
from app.runtime import open_database
from app.settings import Settings

out = Console()
SDL_PATH = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


@command("migrate")
def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    with open_database(settings) as db:
        out.print(f"migrated {db.description} to head")
    return 0


@command("seed")
def seed_command(args: argparse.Namespace, settings: Settings) -> int:
    from app.seed import seed_population

    with open_database(settings) as db:
        stats = asyncio.run(seed_population(db.url, patients=args.patients, seed=args.seed))
        out.print(f"seeded {stats} into {db.description}")
    return 0


@command("serve")
def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.main import create_app
    from app.seed import seed_if_empty

    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    with open_database(settings) as db:
        if not args.no_demo:
            asyncio.run(
                seed_if_empty(db.url, patients=settings.demo_patients, seed=settings.demo_seed)
            )
        out.print(f"vardkedja on http://{host}:{port}/graphql ({db.description})")
        uvicorn.run(create_app(settings, url=db.url), host=host, port=port, log_level="info")
    out.print("stopped; the data stays")
    return 0


@command("export-schema")
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
