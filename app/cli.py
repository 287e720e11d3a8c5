"""`vardkedja` command line: serve, migrate, seed, token, export-schema, and more.

Errors a user can fix (unreachable database, bad arguments) print one line, no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from rich.console import Console

from app.db import DatabaseUnavailable
from app.settings import Settings, get_settings

err = Console(stderr=True)
Command = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{raw!r} must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vardkedja",
        description="One GraphQL API over a person's whole health and care record in Sweden.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the API (embedded PostgreSQL unless a URL is set)")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=positive_int, default=None, help="port (default 8000)")
    serve.add_argument("--no-demo", action="store_true", help="do not seed an empty database")

    sub.add_parser("migrate", help="upgrade the database schema to the newest version")

    seed = sub.add_parser("seed", help="load a synthetic Swedish population")
    seed.add_argument("--patients", type=positive_int, required=True, help="how many patients")
    seed.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")

    export = sub.add_parser("export-schema", help="write the SDL to schema/schema.graphql")
    export.add_argument("--check", action="store_true", help="fail if the file is out of date")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    settings = get_settings()
    from app import commands  # noqa: F401  (registers the subcommands)

    try:
        return COMMANDS[args.command](args, settings)
    except DatabaseUnavailable as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
