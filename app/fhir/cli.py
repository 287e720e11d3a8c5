"""`vardkedja import-fhir` and `vardkedja export-fhir`: FHIR R4 in and out of the database, as a
system principal (purpose ADMIN) or a research client, with the audit trail written."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from app.cli import CommandError, UsageError, at_least_one, command

if TYPE_CHECKING:
    import uuid

    from app.fhir.importer import ImportOptions
    from app.fhir.r4 import FhirJson
    from app.fhir.results import ImportResult
    from app.settings import Settings

out = Console()
err = Console(stderr=True)
SHOWN = 20  # problems printed; --json gives all that were collected
CHUNK = 2000  # NDJSON lines per chunk (app.fhir.jobs.CHUNK, which a test keeps equal)


def _import_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="Bundle JSON files, NDJSON files (*.ndjson) or directories of NDJSON files",
    )
    parser.add_argument(
        "--source-system",
        metavar="HSA_ID",
        help="source system of resources without our document identifier",
    )
    parser.add_argument(
        "--care-unit", metavar="HSA_ID", help="care unit of resources that name none"
    )
    parser.add_argument(
        "--chunk-size", type=at_least_one, default=CHUNK, help="NDJSON lines per chunk"
    )
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")


@command("import-fhir", "import FHIR R4 resources (all-or-nothing, re-import safe)", _import_args)
def import_fhir_command(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when rows were written, 1 when nothing was (invalid entries, or nothing to
    import); a file that cannot be read or is not JSON is one line and exit 1 as well."""
    import orjson

    from app.fhir.importer import ImportOptions
    from app.runtime import open_database

    total = sum(_check_input(p) for p in args.files)
    options = ImportOptions(args.source_system, args.care_unit)
    with open_database(settings) as db, _bar("importing", total, bytes_=True) as advance:
        result = asyncio.run(_import(db.url, settings, args, options, advance))
    if args.json:
        sys.stdout.write(orjson.dumps(result.as_json(), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        _print_result(result)
    return 0 if result.ok and result.imported else 1


def _check_input(path: Path) -> int:
    """Refuse, before the database starts, what cannot be imported; the bytes to read."""
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if path.is_dir():
        files = sorted(f for f in path.glob("*.ndjson") if f.is_file())
        if not files:
            raise UsageError(f"{path} is a folder without *.ndjson files")
        return sum(f.stat().st_size for f in files)  # an empty file in a folder: no lines
    if not path.is_file():
        raise UsageError(f"{path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise CommandError(f"{path}: cannot read it (permission denied)")
    size = path.stat().st_size
    if size == 0:
        raise UsageError(f"{path} is empty")
    return size


async def _import(
    url: str,
    settings: Settings,
    args: argparse.Namespace,
    options: ImportOptions,
    advance: Callable[[int], None],
) -> ImportResult:
    from app.db import create_engine
    from app.fhir import jobs

    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            return await jobs.import_paths(
                conn,
                settings,
                args.files,
                options=options,
                chunk_size=args.chunk_size,
                on_bytes=advance,
            )
    finally:
        await engine.dispose()


def _print_result(result: ImportResult) -> None:
    from rich.table import Table

    if result.ok and not result.imported:
        err.print("nothing was written: no entry could be stored", highlight=False)
    elif result.ok:
        table = Table(title=f"imported {result.entries} entries", show_edge=False)
        for column in ("resource type", "created", "updated"):
            table.add_column(column, justify="left" if column == "resource type" else "right")
        for name in result.imported:
            table.add_row(name, str(result.created[name]), str(result.updated[name]))
        out.print(table)
    else:
        count = len(result.errors) + result.errors_not_listed
        err.print(f"[red]{count} entries are invalid; nothing was written[/red]")
        for e in result.errors[:SHOWN]:
            where = e.location or f"entry {e.index}"
            err.print(f"  {where} {e.resource_type or '?'} {e.path}: {e.reason}", highlight=False)
    if result.unsupported:
        count = len(result.unsupported) + result.unsupported_not_listed
        out.print(f"[yellow]{count} entries or elements not stored (unsupported):[/yellow]")
        for u in result.unsupported[:SHOWN]:
            where = u.location or f"entry {u.index}"
            what = f"{u.resource_type} {u.path}" if u.path else str(u.resource_type)
            out.print(f"  {where} {what}: {u.reason}", highlight=False)


def _export_args(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--patient", help="one patient ($everything): id or personnummer")
    which.add_argument("--ndjson", type=Path, metavar="DIR", help="bulk export into DIR")
    parser.add_argument("--out", type=Path, help="file for --patient (default: standard output)")
    parser.add_argument(
        "--research-client",
        metavar="CLIENT_ID",
        help="bulk export for a research client: opted-in patients only, pseudonymised",
    )
    parser.add_argument(
        "--study",
        metavar="STUDY_ID",
        help="with --research-client: the study exported for (its id); pseudonyms are per study",
    )
    parser.add_argument(
        "--batch-size", type=at_least_one, default=200, help="patients per batch (bulk)"
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="bulk: validate every resource with fhir.resources before writing (slow)",
    )


@command("export-fhir", "export FHIR R4: one patient's record or the population", _export_args)
def export_fhir_command(args: argparse.Namespace, settings: Settings) -> int:
    from app.fhir.r4 import dumps
    from app.runtime import open_database

    if args.research_client and args.patient:
        raise UsageError("--research-client works with --ndjson only")
    if bool(args.research_client) != bool(args.study):
        raise UsageError("--research-client and --study go together")
    if args.study:
        _check_study(args.study)
    if args.out and args.ndjson:
        raise UsageError("--out works with --patient only; --ndjson names the folder")
    if args.patient:
        _check_patient(args.patient)
    if args.out:
        _check_writable_file(args.out)
    if args.ndjson:
        _check_writable_folder(args.ndjson)
    with open_database(settings) as db:
        if args.patient:
            bundle = asyncio.run(_export_patient(db.url, settings, args.patient))
            if bundle is None:
                err.print(f"no patient {args.patient}")
                return 1
            data = dumps(bundle)
            if args.out:
                args.out.write_bytes(data)
                out.print(f"wrote {len(bundle['entry'])} resources to {args.out}")
            else:
                sys.stdout.buffer.write(data + b"\n")
            return 0
        with _bar("exporting patients", None) as advance:
            counts = asyncio.run(_export_bulk(db.url, settings, args, advance))
    for name, n in counts.items():
        out.print(f"{args.ndjson / (name + '.ndjson')}: {n}")
    return 0


def _study(study: str | None) -> uuid.UUID | None:
    from app.auth import study_id_of

    return study_id_of(study) if study else None


def _check_study(study: str) -> None:
    """A study's id (global id or uuid), checked before the database starts."""
    from app.auth import study_id_of

    try:
        study_id_of(study)
    except ValueError:
        raise UsageError(f"--study {study!r}: not a research study's id") from None


def _check_patient(patient: str) -> None:
    """Our id (a uuid) or a personnummer/samordningsnummer, checked before the database starts."""
    import uuid

    from app.identifiers import (
        IdentifierError,
        detect_person_identifier_kind,
        normalize_person_identifier,
    )

    try:
        uuid.UUID(patient)
        return
    except ValueError:
        pass
    try:
        kind = detect_person_identifier_kind(patient, field="--patient")
        normalize_person_identifier(kind, patient, field="--patient")
    except IdentifierError as exc:
        raise UsageError(f"{exc}; give our patient id or a personnummer") from None


def _check_writable_file(path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"--out {path} is a folder; give a file")
    _check_writable_folder(path.parent, what="the folder of --out")


def _check_writable_folder(folder: Path, what: str = "--ndjson") -> None:
    """A folder that exists (or can be made) and that we may write in."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{what} {folder}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"{what} {folder}: cannot write in {existing} (permission denied)")


async def _export_patient(url: str, settings: Settings, patient: str) -> FhirJson | None:
    from app.db import create_engine
    from app.fhir import jobs

    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            return await jobs.export_patient(conn, settings, patient)
    finally:
        await engine.dispose()


async def _export_bulk(
    url: str, settings: Settings, args: argparse.Namespace, advance: Callable[[int], None]
) -> dict[str, int]:
    from app.db import create_engine
    from app.fhir import jobs

    engine = create_engine(url, pool_size=1)
    try:
        if args.research_client:
            principal = jobs.research_principal(args.research_client, _study(args.study))
            refused = await jobs.refused_export(engine.begin, settings, principal, "export-fhir")
            if refused is not None:
                raise refused
        async with engine.connect() as conn:
            # One snapshot for the whole export, so the files agree with each other.
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                return await jobs.export_bulk(
                    conn,
                    settings,
                    args.ndjson,
                    research_client=args.research_client,
                    study=_study(args.study),
                    batch_size=args.batch_size,
                    on_patients=advance,
                    check=args.validate,
                )
    finally:
        await engine.dispose()


@contextmanager
def _bar(label: str, total: int | None, *, bytes_: bool = False) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on standard error; yields the function that advances it. None when
    standard error is no terminal (a log or a pipe gets no bar, and no blank line from it)."""
    if not err.is_terminal:
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    counter = DownloadColumn() if bytes_ else MofNCompleteColumn()
    columns = [TextColumn(label), BarColumn(), counter, TimeRemainingColumn()]
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)
