"""Export FHIR: one patient's whole record as a Bundle ($everything) and the population as NDJSON
(bulk data). Every read goes through DataAccess, so the access policy decides what leaves and
the audit trail records it; research clients get only opted-in patients, pseudonymised (A15).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import RowMapping, Table, select
from sqlmodel import SQLModel

from app.access.categories import CHILD_TABLES
from app.access.principal import PrincipalKind
from app.access.research import NOT_APPROVED_REASON, Release, released_row
from app.context import Context
from app.errors import AppError
from app.fhir import preserve
from app.fhir.mapping import municipal, sip
from app.fhir.mapping.common import id_system
from app.fhir.mapping.registry import KINDS, PATIENT, REFERENCE, kind_of_row
from app.fhir.ndjson import NdjsonWriter
from app.fhir.r4 import FhirJson, InvalidResource, loads, validate
from app.fhir.writer import referenced_first

PSEUDONYM = id_system("pseudonym")
Emit = Callable[[FhirJson], None]
PATIENT_TABLES = [
    k for k in dict.fromkeys(k.table for k in KINDS if k.scope not in (REFERENCE, PATIENT))
]
# Rows exported inside their parent's resource, not as resources of their own: part -> (parent
# table, column naming the parent). A plan's activities, a SIP's participants, goals, actions.
PART_TABLES = {t: parent for t, parent in CHILD_TABLES.items() if t not in PATIENT_TABLES}
REFERENCE_KINDS = [k for k in KINDS if k.scope == REFERENCE]
# Resource types whose ids identify a patient's data; pseudonymised in research exports.
PATIENT_TYPES = {k.resource_type for k in KINDS if k.scope != REFERENCE}


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


Preserved = Mapping[tuple[str, Any], Any]  # (table, row id) -> fhir_preserved row
Parts = Mapping[str, Mapping[Any, list[Any]]]  # part table -> parent row id -> its rows


def _with_parts(table: str, row: Mapping[str, Any], parts: Parts) -> FhirJson:
    own = {
        name: parts.get(name, {}).get(row["id"], [])
        for name, (parent, _) in PART_TABLES.items()
        if parent == table
    }
    if table == "implementation_plan":
        return municipal.plan_to_fhir(row, None, own["plan_activity"])
    if table == "sip_plan":
        return sip.sip_to_fhir(row, None, own)
    return kind_of_row(table, row).to_fhir(row, None)


def to_resources(
    table: str,
    rows: Sequence[Mapping[Any, Any]],
    parts: Parts,
    preserved: Preserved | None = None,
) -> list[FhirJson]:
    out = []
    for row in referenced_first(table, [dict(r) for r in rows]):
        resource = _with_parts(table, row, parts)
        kept = preserved.get((table, row["id"])) if preserved else None
        if kept is not None and not (table == "patient" and row["protected_identity"]):
            # A protected identity's preserved elements may hold an address (A16): never.
            current = kept["version"] is None or kept["version"] == row.get("version")
            merged = preserve.merge(resource, loads(kept["elements"]), current=current)
            try:
                validate(merged)
                resource = merged
            except InvalidResource:
                # The row changed so that the original no longer fits (a date of death where
                # the original said deceasedBoolean): the row is the truth.
                pass
        out.append(resource)
    return out


async def preserved_of(ctx: Context, patient_ids: Sequence[uuid.UUID]) -> dict[Any, Any]:
    """The preserved remainders of these patients' imported rows (part of resources already
    disclosed, so not audited again)."""
    if not patient_ids:
        return {}
    table = _table("fhir_preserved")
    rows = await ctx.data.fetch(select(table).where(table.c.patient_id.in_(patient_ids)))
    kept = {(r["table_name"], r["row_id"]): r for r in rows}
    for pid in patient_ids:
        # A Patient's remainder may hold address lines, telecom and contacts: only for callers
        # who may see the address (A16), never otherwise.
        if ("patient", pid) in kept and not await ctx.data.may_see_address(pid):
            del kept[("patient", pid)]
    return kept


async def patient_record(ctx: Context, patient_ids: Sequence[uuid.UUID]) -> dict[str, list[Any]]:
    """The rows of these patients that the caller may see, per table, parts included (audited
    as disclosed)."""
    rows: dict[str, list[Any]] = {}
    for name in [*PATIENT_TABLES, *PART_TABLES]:
        table = _table(name)
        visible = await ctx.data.visibility(table, patient_ids)
        stmt = select(table).where(visible).order_by(table.c.patient_id, table.c.id)
        rows[name] = list(await ctx.data.fetch(stmt, disclose=_kind_name(name)))
    return rows


async def parts_of(
    ctx: Context, table: str, patient_id: uuid.UUID, parent_id: uuid.UUID | None = None
) -> dict[str, dict[Any, list[Any]]]:
    """The parts of one patient's `table` rows (of one row when `parent_id` is given) that the
    caller may see (audited as disclosed)."""
    record: dict[str, list[Any]] = {}
    for name, (parent, column) in PART_TABLES.items():
        if parent != table:
            continue
        part = _table(name)
        visible = await ctx.data.visibility(part, [patient_id])
        stmt = select(part).where(visible, part.c.patient_id == patient_id)
        if parent_id is not None:
            stmt = stmt.where(part.c[column] == parent_id)
        stmt = stmt.order_by(part.c.patient_id, part.c.id)
        record[name] = list(await ctx.data.fetch(stmt, disclose=_kind_name(name)))
    return split_parts(record)


def split_parts(record: dict[str, list[Any]]) -> dict[str, dict[Any, list[Any]]]:
    """Take the part tables out of `record`, grouped by the row they belong to."""
    parts: dict[str, dict[Any, list[Any]]] = {}
    for name, (_, column) in PART_TABLES.items():
        for row in record.pop(name, []):
            parts.setdefault(name, {}).setdefault(row[column], []).append(row)
    return parts


async def with_identifiers(ctx: Context, patients: Sequence[Any]) -> list[dict[str, Any]]:
    """Patient rows with their other identifiers (patient_identifier) under "identifiers"; part
    of the Patient resources already disclosed, so not audited again."""
    table = _table("patient_identifier")
    ids = [p["id"] for p in patients]
    by_patient: dict[Any, list[Any]] = {}
    if ids:
        stmt = (
            select(table)
            .where(table.c.patient_id.in_(ids))
            .order_by(table.c.patient_id, table.c.position, table.c.system, table.c.value)
        )
        for row in await ctx.data.fetch(stmt):
            by_patient.setdefault(row["patient_id"], []).append(row)
    return [dict(p) | {"identifiers": by_patient.get(p["id"], [])} for p in patients]


def _kind_name(table: str) -> str:
    """The record kind a table's rows are disclosed as in the audit trail (SipGoal, ...)."""
    found = next((k.name for k in KINDS if k.table == table), None)
    return found or "".join(word.title() for word in table.split("_"))


async def reference_rows(
    ctx: Context, record: Mapping[str, Sequence[Any]]
) -> dict[str, list[RowMapping]]:
    """The organisations, practitioners and studies these rows point at (not patient data)."""
    wanted: dict[str, set[Any]] = {
        "care_unit": set(),
        "care_provider": set(),
        "practitioner": set(),
        "research_study": set(),
        "municipality": set(),
    }
    columns = {
        "care_unit_id": "care_unit",
        "care_provider_id": "care_provider",
        "accountable_practitioner_id": "practitioner",
        "practitioner_id": "practitioner",
        "research_study_id": "research_study",
        "municipality_code": "municipality",
    }
    for rows in record.values():
        for row in rows:
            for column, target in columns.items():
                if row.get(column) is not None:
                    wanted[target].add(row[column])
    found: dict[str, list[RowMapping]] = {}
    # Units and providers bring their providers and municipalities along.
    for name in ("care_unit", "care_provider", "practitioner", "research_study", "municipality"):
        table = _table(name)
        key = table.c.code if name == "municipality" else table.c.id
        ids = wanted[name]
        found[name] = (
            list(await ctx.data.fetch(select(table).where(key.in_(ids)).order_by(key)))
            if ids
            else []
        )
        for row in found[name]:
            if name == "care_unit":
                wanted["care_provider"].add(row["care_provider_id"])
            if name in ("care_unit", "care_provider") and row["municipality_code"]:
                wanted["municipality"].add(row["municipality_code"])
    return found


def validated(resources: Iterable[FhirJson]) -> list[FhirJson]:
    """Check every resource against the R4 model before it leaves (a failure is our bug)."""
    out = list(resources)
    for resource in out:
        validate(resource)
    return out


async def everything(
    ctx: Context, patient_id: uuid.UUID, *, base_url: str | None = None
) -> FhirJson | None:
    """Patient/$everything: the patient, their record and what it references, as a searchset
    Bundle; None when the caller may not see the patient (denial audited)."""
    if patient_id not in await ctx.data.visible_patients([patient_id]):
        return None
    patient = _table("patient")
    patients = await ctx.data.fetch(
        select(patient).where(patient.c.id == patient_id), disclose="Patient"
    )
    if not patients:
        return None
    record: dict[str, list[Any]] = {"patient": list(patients)}
    record |= await patient_record(ctx, [patient_id])
    references = await reference_rows(ctx, record)
    kept = await preserved_of(ctx, [patient_id])
    resources = to_resources("patient", await with_identifiers(ctx, patients), {}, kept)
    for kind in REFERENCE_KINDS:
        if kind.table in references:
            resources += to_resources(kind.table, references[kind.table], {})
    parts = split_parts(record)
    for name in PATIENT_TABLES:
        resources += to_resources(name, record[name], parts, kept)
    entries = []
    for resource in validated(resources):
        entry: FhirJson = {}
        if base_url is not None:
            entry["fullUrl"] = f"{base_url}{resource['resourceType']}/{resource['id']}"
        entry["resource"] = resource
        mode = "match" if resource["resourceType"] in PATIENT_TYPES else "include"
        entry["search"] = {"mode": mode}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


# --------------------------------------------------------------------------- bulk


async def export_population(
    ctx: Context,
    writer: NdjsonWriter,
    *,
    batch_size: int = 200,
    after_batch: Callable[[int], Awaitable[None]] | None = None,
    check: bool = False,
) -> int:
    """All patients the caller may find, as NDJSON; returns how many patients were exported.

    Reference data comes first and each file is ordered so references point backwards. A
    research client gets only opted-in patients, pseudonymised, and no reference to identity.
    `check` validates every resource with fhir.resources first: ten times slower, and the
    mapping tests already validate every mapping, so it is off unless asked for.
    """
    emit = _checked(writer) if check else writer.write
    research = ctx.principal.kind is PrincipalKind.RESEARCH
    await refuse_unapproved(ctx)
    release = await ctx.data.research_release() if research else None
    for kind in REFERENCE_KINDS:
        if research and kind.table == "assignment":
            continue
        if release is not None and kind.table == "practitioner" and not release.clinician_identity:
            continue  # clinicians' names and HSA-ids (A15); references to them are pseudonyms
        table = _table(kind.table)
        key = table.c.code if kind.table == "municipality" else table.c.id
        rows = await ctx.data.fetch(select(table).order_by(key))
        for resource in to_resources(kind.table, rows, {}):
            emit(resource)
    patient = _table("patient")
    done, last = 0, None
    while True:
        stmt = select(patient.c.id).where(ctx.data.search_scope(patient.c.id))
        if last is not None:
            stmt = stmt.where(patient.c.id > last)
        ids = [r["id"] for r in await ctx.data.fetch(stmt.order_by(patient.c.id).limit(batch_size))]
        if not ids:
            return done
        last = ids[-1]
        exported = await (_research_batch(ctx, emit, ids) if research else _batch(ctx, emit, ids))
        done += exported
        if after_batch is not None:
            await after_batch(exported)


async def refuse_unapproved(ctx: Context) -> None:
    """A15: a research export needs a study whose approval allows record access; otherwise
    NOT_APPROVED, before anything is read, with the denial in `ctx.audit` naming the study.
    The error rolls back the transaction it is raised in, and the denial with it: callers
    check first in a transaction of their own that commits (app/fhir/jobs.refused_export)."""
    if ctx.principal.kind is not PrincipalKind.RESEARCH:
        return
    release = await ctx.data.research_release()
    if release.record_access:
        return
    study = release.study or ctx.principal.study_id
    approval = f", EthicsApproval:{release.approvals[0]}" if release.approvals else ""
    ctx.audit.deny(None, f"NOT_APPROVED: bulk export for ResearchStudy:{study}{approval}: "
                   f"{NOT_APPROVED_REASON}")  # fmt: skip
    raise AppError(NOT_APPROVED_REASON, code="NOT_APPROVED", status=403)


def _checked(writer: NdjsonWriter) -> Emit:
    def emit(resource: FhirJson) -> None:
        validate(resource)
        writer.write(resource)

    return emit


async def _batch(ctx: Context, emit: Emit, ids: list[uuid.UUID]) -> int:
    visible = sorted(await ctx.data.visible_patients(ids))
    if not visible:
        return 0
    patient = _table("patient")
    patients = await ctx.data.fetch(
        select(patient).where(patient.c.id.in_(visible)).order_by(patient.c.id), disclose="Patient"
    )
    record = await patient_record(ctx, visible)
    parts = split_parts(record)
    kept = await preserved_of(ctx, visible)
    resources = to_resources("patient", await with_identifiers(ctx, patients), {}, kept)
    for name in PATIENT_TABLES:
        resources += to_resources(name, record[name], parts, kept)
    for resource in resources:
        emit(resource)
    return len(patients)


async def _research_batch(ctx: Context, emit: Emit, ids: list[uuid.UUID]) -> int:
    decisions = await ctx.data.access(ids)
    opted_in = sorted(pid for pid, d in decisions.items() if d.may_see_patient)
    if not opted_in:
        return 0
    record = _released(await patient_record(ctx, opted_in), await ctx.data.research_release(), ctx)
    parts = split_parts(record)
    resources: list[FhirJson] = []
    for pid in opted_in:
        resources.append(
            {
                "resourceType": "Patient",
                "id": fhir_id(ctx.data.pseudonym(pid)),
                "identifier": [{"system": PSEUDONYM, "value": ctx.data.pseudonym(pid)}],
            }
        )
    release = await ctx.data.research_release()
    aliased = PATIENT_TYPES | ({"Practitioner"} if not release.clinician_identity else set())
    for name in PATIENT_TABLES:
        rows = to_resources(name, record[name], parts)
        resources += [pseudonymised(ctx, r, aliased) for r in rows]
    for resource in resources:
        emit(resource)
    return len(opted_in)


def _released(record: dict[str, list[Any]], release: Release, ctx: Context) -> dict[str, list[Any]]:
    """A15: free text and clinicians' names withheld unless the study's approval releases
    them, times cut to its precision, other identifiers pseudonymised (app/access/research)."""
    out: dict[str, list[Any]] = {}
    for name, rows in record.items():
        required = frozenset(c.name for c in _table(name).columns if not c.nullable)
        out[name] = [released_row(r, release, ctx.data.text_pseudonym, required) for r in rows]
    return out


def fhir_id(pseudonym: str) -> str:
    """A pseudonym as a FHIR id (letters, digits, '-' and '.'): psn_abc -> psn-abc."""
    return pseudonym.replace("_", "-")


def pseudonymised(
    ctx: Context, resource: FhirJson, aliased: frozenset[str] | set[str] = PATIENT_TYPES
) -> FhirJson:
    """A15: ids and references of patient data (and of the `aliased` resource types)
    replaced by pseudonyms; document identifiers (which name the source system's record) left
    out."""

    def alias(value: str) -> str:
        return fhir_id(ctx.data.pseudonym(uuid.UUID(value)))

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: walk(v) for k, v in value.items()}
            ref = out.get("reference")
            if isinstance(ref, str) and ref.split("/")[0] in aliased:
                resource_type, _, rid = ref.partition("/")
                out["reference"] = f"{resource_type}/{alias(rid)}"
            return out
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    out = walk(resource)
    out["id"] = alias(out["id"])
    out.pop("identifier", None)
    return dict(out)
