"""`vardkedja` command line. Subcommands live in small modules (COMMAND_MODULES), each
registering itself with `@command(...)`; errors a user can fix print one line, no traceback."""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.console import Console

from app.db import DatabaseUnavailable
from app.settings import Settings, SettingsError, get_settings

err = Console(stderr=True)
Run = Callable[[argparse.Namespace, Settings], int]
Configure = Callable[[argparse.ArgumentParser], None]

# Modules that define subcommands; importing one registers its commands.
COMMAND_MODULES = ["app.commands", "app.privacy_cli", "app.fhir.cli", "app.changes.cli"]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Configure
    run: Run


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, configure: Configure | None = None) -> Callable[[Run], Run]:
    """Register a subcommand: `configure` adds its arguments, the decorated function runs it."""

    def register(fn: Run) -> Run:
        COMMANDS[name] = Command(name, help, configure or (lambda parser: None), fn)
        return fn

    return register


class UsageError(Exception):
    """Bad arguments found after parsing; printed as a usage message, exit code 2."""


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{raw!r} must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(
        prog="vardkedja",
        description="One GraphQL API over a person's whole health and care record in Sweden.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in COMMANDS.values():
        cmd.configure(sub.add_parser(cmd.name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command].run(args, get_settings())
    except UsageError as exc:
        parser.error(str(exc))
    except (DatabaseUnavailable, SettingsError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        return 130
