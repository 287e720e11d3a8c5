"""Import and export jobs over a database connection, as the CLI, the benchmark and the tests
run them: a system principal (purpose ADMIN) or a research client, the real access policy, and
the audit trail written in the same transaction."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app import audit
from app.access.principal import Principal, PrincipalKind, Purpose
from app.context import Context, build_context
from app.errors import AppError, BadInput
from app.fhir.exporter import everything, export_population, refuse_unapproved
from app.fhir.importer import ImportOptions, RawEntry, bundle_entries, chunks, import_entries
from app.fhir.ndjson import NdjsonWriter, import_order, read_ndjson
from app.fhir.r4 import FhirJson, loads
from app.fhir.results import ImportResult
from app.identifiers import (
    IdentifierError,
    detect_person_identifier_kind,
    normalize_person_identifier,
)
from app.settings import Settings

CHUNK = 2000
SYSTEM = Principal(
    kind=PrincipalKind.SYSTEM,
    subject="vardkedja-fhir",
    name="vardkedja FHIR import/export",
    purpose=Purpose.ADMIN,
)


def research_principal(client_id: str, study: uuid.UUID | None) -> Principal:
    """A research client exporting for one of its studies (pseudonyms are per study)."""
    return Principal(
        kind=PrincipalKind.RESEARCH,
        subject=client_id,
        client_id=client_id,
        purpose=Purpose.RESEARCH,
        study_id=study,
    )


async def refused_export(
    begin: Callable[[], AbstractAsyncContextManager[AsyncConnection]],
    settings: Settings,
    principal: Principal,
    operation: str,
) -> AppError | None:
    """Why a bulk export may not start (a research study without record access), asked in a
    short transaction of its own (`begin`) that commits the audited denial: the export's
    transaction rolls back on the error, and a denial in it would be lost. None: it may."""
    async with begin() as conn:
        ctx = build_context(conn, principal, settings, operation_name=operation)
        try:
            await refuse_unapproved(ctx)
        except AppError as refused:
            await audit.flush(conn, ctx.audit, principal, operation)
            return refused
    return None


@contextmanager
def fewer_collections(young: int = 1_000_000) -> Iterator[None]:
    """An import holds a chunk's parsed and validated resources (hundreds of thousands of small
    objects) while it allocates more: with the default threshold (700) the collector ran ~2,000
    times per 15,000 resources and took a fifth of the import's CPU time; at 100,000 it still
    took a tenth (each collection walks the chunk's live objects). Collections of the youngest
    generation are made rarer while the import runs (a command-line process): objects without
    cycles are freed at once as always, cyclic garbage waits for at most a million allocations,
    and nothing is kept from collection."""
    before = gc.get_threshold()
    gc.set_threshold(young, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def batches_of(
    paths: Sequence[Path],
    *,
    chunk_size: int = CHUNK,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[list[RawEntry]]:
    """NDJSON files and directories stream in chunks (dependency order of their names); a JSON
    file (a Bundle or one resource) is one batch, so its references may point anywhere."""
    ndjson = [p for p in paths if p.is_dir() or p.suffix == ".ndjson"]
    for path in paths:
        if path in ndjson:
            continue
        raw = path.read_bytes()
        yield bundle_entries(_json_file(path, raw), source=path.name)
        if on_bytes is not None:
            on_bytes(len(raw))
    if ndjson:
        yield from chunks(read_ndjson(import_order(ndjson), on_bytes=on_bytes), chunk_size)


def _json_file(path: Path, raw: bytes) -> object:
    """A JSON file's content; BadInput naming the file when it is not JSON (truncated, empty,
    binary) or not one FHIR object (a JSON array)."""
    try:
        data = loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BadInput(f"{path}: not FHIR JSON ({exc})", field="file") from None
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else "a single value"
        raise BadInput(
            f"{path}: a FHIR resource or Bundle (a JSON object) is expected, not {kind}",
            field="file",
        )
    return data


async def import_paths(
    conn: AsyncConnection,
    settings: Settings,
    paths: Sequence[Path],
    *,
    options: ImportOptions | None = None,
    chunk_size: int = CHUNK,
    on_bytes: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import files as the system principal; writes are audited when the import succeeds."""
    ctx = build_context(conn, SYSTEM, settings)
    with fewer_collections():
        result = await import_entries(
            conn,
            batches_of(paths, chunk_size=chunk_size, on_bytes=on_bytes),
            options=options,
            audit=ctx.audit,
        )
    await audit.flush(conn, ctx.audit, SYSTEM, "import-fhir")
    return result


async def export_patient(
    conn: AsyncConnection, settings: Settings, patient: str
) -> FhirJson | None:
    """$everything for one patient (our id, or personnummer/samordningsnummer) as the system
    principal (audited); None when there is no such patient."""
    ctx = build_context(conn, SYSTEM, settings)
    patient_id = await find_patient(ctx, patient)
    bundle = await everything(ctx, patient_id) if patient_id is not None else None
    await audit.flush(conn, ctx.audit, SYSTEM, "export-fhir")
    return bundle


async def find_patient(ctx: Context, patient: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(patient)
    except ValueError:
        pass
    try:
        kind = detect_person_identifier_kind(patient, field="patient")
        identifier = normalize_person_identifier(kind, patient, field="patient")
    except IdentifierError as exc:
        raise BadInput(str(exc), field="patient") from None
    table = SQLModel.metadata.tables["patient"]
    found = await ctx.data.fetch(
        select(table.c.id).where(
            table.c.identifier == identifier, table.c.identifier_kind.in_((kind,))
        )
    )
    return found[0]["id"] if found else None


async def export_bulk(
    conn: AsyncConnection,
    settings: Settings,
    directory: Path,
    *,
    research_client: str | None = None,
    study: uuid.UUID | None = None,
    batch_size: int = 200,
    on_patients: Callable[[int], None] | None = None,
    check: bool = False,
) -> dict[str, int]:
    """The population as NDJSON files; returns resources written per type. Audit entries are
    flushed after every batch of patients, so memory stays flat."""
    principal = research_principal(research_client, study) if research_client else SYSTEM
    ctx: Context = build_context(conn, principal, settings)

    async def after_batch(patients: int) -> None:
        await audit.flush(conn, ctx.audit, principal, "export-fhir")
        if on_patients is not None:
            on_patients(patients)

    with NdjsonWriter(directory) as writer:
        await export_population(
            ctx, writer, batch_size=batch_size, after_batch=after_batch, check=check
        )
        await audit.flush(conn, ctx.audit, principal, "export-fhir")
        return dict(writer.counts)
