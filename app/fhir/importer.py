"""Import FHIR resources: validate and map every entry first, collect per-entry errors, then
write everything in one transaction with upserts on natural keys.

An import is all-or-nothing whatever the Bundle type: any error and nothing is written.
Unsupported entries (types or content we do not store) are reported and skipped. Entries are
processed in chunks so NDJSON streams; within a chunk references may point anywhere, across
chunks only backwards (our NDJSON exports are written in that order).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import Table, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.audit import AuditBuffer
from app.errors import BadInput
from app.fhir import preserve
from app.fhir.mapping import municipal, organizations, patients, sip
from app.fhir.mapping.common import municipality_resource_id, row_uuid, to_date
from app.fhir.mapping.header import document_identity
from app.fhir.mapping.registry import (
    CLINICAL,
    KINDS,
    MUNICIPALITY,
    PATIENT,
    PLAN,
    REFERENCE,
    SIP,
    TABLE_ORDER,
    TYPE_OF_TABLE,
    Kind,
    kind_of,
)
from app.fhir.r4 import InvalidResource, MappingError, Unsupported, Validator, dumps, loads
from app.fhir.resolve import NAMESPACE, Defaults, ImportResolver, references_in, stable_id
from app.fhir.results import UNSUPPORTED_ELEMENT, EntryError, ImportResult, UnsupportedEntry
from app.fhir.writer import replace_children, upsert

KIND_ORDER = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class RawEntry:
    """One resource as read: from a Bundle entry or an NDJSON line."""

    index: int
    data: Any
    full_url: str | None = None
    method: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class InvalidJson:
    """Input that is not JSON (an NDJSON line); reported as an error of its entry."""

    reason: str


@dataclass(frozen=True)
class ImportOptions:
    """Defaults for resources from systems that do not carry our header."""

    source_system_hsa_id: str | None = None
    care_unit_hsa_id: str | None = None
    # False: every resource validated by fhir.resources alone (the benchmark's baseline).
    fast_path: bool = True


@dataclass
class Pending:
    raw: RawEntry
    kind: Kind
    resource: Any
    id: Any = None
    key: tuple[Any, ...] | None = None
    row: dict[str, Any] | None = None
    children: list[dict[str, Any]] = field(default_factory=list)
    # Patients: their identifiers, and the identifier the row keeps (merged with the match).
    identity: patients.PatientIdentity | None = None
    own_identifier: tuple[str, str, str | None] | None = None
    # What the row cannot hold, kept for export (patient data only).
    remainder: dict[str, Any] | None = None

    @property
    def keys(self) -> list[str]:
        """The strings other entries may use to reference this one."""
        found = [f"{self.kind.resource_type}/{self.resource.id}"] if self.resource.id else []
        return found + ([self.raw.full_url] if self.raw.full_url else [])


class Importer:
    def __init__(self, conn: AsyncConnection, options: ImportOptions) -> None:
        self.conn = conn
        self.options = options
        self.result = ImportResult()
        self.resolver = ImportResolver(conn, Defaults(options.source_system_hsa_id))
        self.written: list[tuple[uuid.UUID, str, uuid.UUID]] = []
        # Patients of this import: their ids, and (system, value) -> (id, entry index).
        self.patient_ids: set[uuid.UUID] = set()
        self.patient_pairs: dict[tuple[str, str], tuple[uuid.UUID, int]] = {}
        self.tables = SQLModel.metadata.tables
        self.validate = Validator(fast=options.fast_path)

    async def prepare(self) -> None:
        await self.resolver.load_codes()
        hsa = self.options.care_unit_hsa_id
        if hsa is not None:
            unit = self.tables["care_unit"]
            found = (
                await self.conn.execute(
                    select(unit.c.id, unit.c.care_provider_id).where(unit.c.hsa_id == hsa)
                )
            ).first()
            if found is None:
                raise BadInput(f"no care unit with HSA-id {hsa}", field="careUnitHsaId")
            self.resolver.defaults.care_unit_id = found[0]
            self.resolver.unit_provider[found[0]] = found[1]

    # ------------------------------------------------------------------ one chunk

    async def process(self, entries: list[RawEntry]) -> None:
        self.result.entries += len(entries)
        pending = [p for p in (self._parse(e) for e in entries) if p is not None]
        await self._assign(pending, {REFERENCE, PATIENT})
        await self.resolver.load_external(r for p in pending for r in references_in(p.raw.data))
        await self._assign(pending, {CLINICAL, "patient_row"})
        mapped = self._map(sorted(pending, key=lambda p: (KIND_ORDER[p.kind], p.raw.index)))
        if self.result.ok:
            await self._write(mapped)

    def _parse(self, raw: RawEntry) -> Pending | None:
        data = raw.data
        if isinstance(data, InvalidJson):
            self._error(raw, None, "", data.reason)
            return None
        resource_type = data.get("resourceType") if isinstance(data, dict) else None
        if not isinstance(resource_type, str):
            self._error(raw, None, "resourceType", "not a FHIR resource (no resourceType)")
            return None
        if raw.method == "DELETE":
            self._skip(raw, resource_type, "DELETE requests are not supported")
            return None
        try:
            kind = kind_of(data)
        except Unsupported as exc:
            self._skip(raw, resource_type, exc.reason)
            return None
        try:
            resource = self.validate(data)
        except InvalidResource as exc:
            for problem in exc.problems:
                self._error(raw, resource_type, problem.path, problem.reason)
            rid = data.get("id")
            keys = [f"{resource_type}/{rid}"] if isinstance(rid, str) else []
            for key in keys + ([raw.full_url] if raw.full_url else []):
                self.resolver.failed[key] = raw.index
            return None
        return Pending(raw, kind, resource)

    async def _assign(self, pending: list[Pending], scopes: set[str]) -> None:
        """Give entries of these scopes their natural key and final id (the existing row's id
        when the key is already in the database), and make them referenceable."""
        if PATIENT in scopes:
            await self._assign_patients([p for p in pending if p.kind.scope == PATIENT])
        by_table: dict[str, list[Pending]] = {}
        for p in pending:
            if p.kind.scope not in scopes or p.kind.scope == PATIENT or p.id is not None:
                continue
            try:
                p.key, proposed = self._natural_key(p)
            except MappingError as exc:
                self._failed(p, exc.problem.path, exc.problem.reason)
                continue
            except Unsupported as exc:
                self._skip(p.raw, p.kind.resource_type, exc.reason)
                self._drop(p)
                continue
            p.id = proposed
            by_table.setdefault(p.kind.table, []).append(p)
        for table, group in by_table.items():
            existing = await self._existing(self.tables[table], group)
            seen: dict[tuple[Any, ...], Pending] = {}
            for p in group:
                assert p.key is not None
                if p.key in seen:
                    first = seen[p.key].raw.index
                    self._error(
                        p.raw, p.kind.resource_type, "", f"the same record as entry {first}"
                    )
                    continue
                seen[p.key] = p
                p.id = existing.get(p.key, p.id)
                self.resolver.register(p.keys, table, p.id)
                if table in ("care_unit", "care_provider", "practitioner"):
                    self.resolver.by_hsa[p.key[0]] = (table, p.id)

    async def _assign_patients(self, group: list[Pending]) -> None:
        """Match Patients on (system, value) of their identifiers only: an identifier already
        held by a patient (in the database or earlier in the import) makes the entry that
        patient, unless the birth date, the name or a Swedish identifier disagrees, which is an
        error of the entry and changes nothing. No identifier known: a new patient."""
        todo: list[Pending] = []
        in_chunk: dict[tuple[str, str], int] = {}
        for p in group:
            if p.id is not None:
                continue
            try:
                p.identity = patients.patient_identity(p.resource)
            except MappingError as exc:
                self._failed(p, exc.problem.path, exc.problem.reason)
                continue
            earlier = [in_chunk[pair] for pair in p.identity.pairs() if pair in in_chunk]
            if earlier:
                self._failed(p, "Patient.identifier", f"the same person as entry {min(earlier)}")
                continue
            in_chunk |= {pair: p.raw.index for pair in p.identity.pairs()}
            todo.append(p)
        if not todo:
            return
        identities = [p.identity for p in todo if p.identity is not None]
        known = await self._known_patients(identities)
        for p in todo:
            assert p.identity is not None
            self._match_patient(p, p.identity, known)
        fresh = [p for p in todo if p.id is None]
        taken = await self._taken_ids([self._own_id(p) for p in fresh])
        for p in fresh:
            assert p.identity is not None
            own = self._own_id(p)
            if own in taken or own in self.patient_ids:
                # The id names another person here: derive one from the identifier instead.
                system, value = p.identity.pairs()[0]
                own = uuid.uuid5(NAMESPACE, f"Patient|{system}|{value}")
            self._claim_patient(p, own, None)

    def _match_patient(
        self, p: Pending, identity: patients.PatientIdentity, known: dict[Any, Any]
    ) -> None:
        pairs = identity.pairs()
        swedish = [(i.kind, i.value) for i in identity.swedish.values()]
        local = {self.patient_pairs[k] for k in pairs if k in self.patient_pairs}
        if local:
            first = min(entry for _, entry in local)
            self._failed(p, "Patient.identifier", f"the same person as entry {first}")
            return
        matches = {known["pairs"][k] for k in pairs if k in known["pairs"]}
        matches |= {known["swedish"][k] for k in swedish if k in known["swedish"]}
        if len(matches) > 1:
            self._failed(
                p,
                "Patient.identifier",
                "its identifiers belong to different patients here; nothing was changed",
            )
            return
        if not matches:
            return
        (patient_id,) = matches
        existing = known["rows"][patient_id]
        problem = _identity_conflict(p.resource, identity, existing)
        if problem is not None:
            self._failed(p, *problem)
            return
        self._claim_patient(p, patient_id, existing)

    def _claim_patient(self, p: Pending, patient_id: uuid.UUID, existing: Any) -> None:
        assert p.identity is not None
        p.id = patient_id
        p.key = (patient_id,)
        p.own_identifier = _own_identifier(p.identity, existing)
        self.patient_ids.add(patient_id)
        for pair in p.identity.pairs():
            self.patient_pairs[pair] = (patient_id, p.raw.index)
        self.resolver.register(p.keys, "patient", patient_id)

    async def _known_patients(
        self, identities: list[patients.PatientIdentity]
    ) -> dict[str, dict[Any, Any]]:
        """The patients holding any of these identifiers: by (system, value) in
        patient_identifier, by (kind, value) on the patient row; and those patients' rows."""
        patient, extra = self.tables["patient"], self.tables["patient_identifier"]
        pairs = list({pair for i in identities for pair in i.pairs()})
        swedish = list({(s.kind, s.value) for i in identities for s in i.swedish.values()})
        by_pair: dict[Any, Any] = {}
        by_swedish: dict[Any, Any] = {}
        for start in range(0, len(pairs), 5000):
            stmt = select(extra.c.system, extra.c.value, extra.c.patient_id).where(
                tuple_(extra.c.system, extra.c.value).in_(pairs[start : start + 5000])
            )
            for row in await self.conn.execute(stmt):
                by_pair[(row[0], row[1])] = row[2]
        for start in range(0, len(swedish), 5000):
            kind_value = tuple_(patient.c.identifier_kind, patient.c.identifier)
            stmt = select(patient.c.identifier_kind, patient.c.identifier, patient.c.id).where(
                kind_value.in_(swedish[start : start + 5000])
            )
            for row in await self.conn.execute(stmt):
                by_swedish[(row[0], row[1])] = row[2]
        ids = list(set(by_pair.values()) | set(by_swedish.values()))
        rows: dict[Any, Any] = {}
        for start in range(0, len(ids), 5000):
            stmt = select(patient).where(patient.c.id.in_(ids[start : start + 5000]))
            for found in (await self.conn.execute(stmt)).mappings():
                rows[found["id"]] = found
        return {"pairs": by_pair, "swedish": by_swedish, "rows": rows}

    async def _taken_ids(self, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        patient = self.tables["patient"]
        taken: set[uuid.UUID] = set()
        for start in range(0, len(ids), 5000):
            stmt = select(patient.c.id).where(patient.c.id.in_(ids[start : start + 5000]))
            taken |= {row[0] for row in await self.conn.execute(stmt)}
        return taken

    def _failed(self, p: Pending, path: str, reason: str) -> None:
        """An entry with an error: references to it say so (not that it is missing)."""
        self._error(p.raw, p.kind.resource_type, path, reason)
        p.id = False
        for key in p.keys:
            self.resolver.failed[key] = p.raw.index

    def _natural_key(self, p: Pending) -> tuple[tuple[Any, ...], Any]:
        r, kind = p.resource, p.kind
        if kind is MUNICIPALITY:
            code = municipal_code(r)
            return (code,), code
        own = self._own_id(p)
        if kind.key == ("hsa_id",):
            return (organizations.hsa_of(r, kind.name),), own
        if kind.scope == REFERENCE:
            return (own,), own
        # fhir.resources names the element `for` (a Python keyword) `for_fhir`.
        name = kind.patient_element or "subject"
        element = getattr(r, "for_fhir" if name == "for" else name)
        patient = self.resolver.id_of(
            element, "patient", f"{kind.resource_type}.{kind.patient_element}"
        )
        if kind.scope == CLINICAL:
            document_id, source = document_identity(r, self.resolver)
            if row_uuid(r) is None:
                own = uuid.uuid5(NAMESPACE, f"{patient}|{source}|{document_id}")
            return (patient, source, document_id), own
        return (patient, own), own

    def _own_id(self, p: Pending) -> uuid.UUID:
        if p.resource.id:
            return stable_id(p.kind.resource_type, str(p.resource.id))
        if p.raw.full_url and p.raw.full_url.startswith("urn:uuid:"):
            return uuid.UUID(p.raw.full_url.removeprefix("urn:uuid:"))
        digest = hashlib.sha256(orjson.dumps(p.raw.data, option=orjson.OPT_SORT_KEYS, default=str))
        return uuid.uuid5(NAMESPACE, digest.hexdigest())

    async def _existing(self, table: Table, group: list[Pending]) -> dict[tuple[Any, ...], Any]:
        """Existing ids by natural key, for the keys of this group."""
        key = group[0].kind.key
        if key == ("code",) or "id" in key:
            return {}
        columns = [table.c[c] for c in key]
        keys = list({p.key for p in group if p.key is not None})
        found: dict[tuple[Any, ...], Any] = {}
        for start in range(0, len(keys), 5000):
            stmt = select(table.c.id, *columns).where(
                tuple_(*columns).in_(keys[start : start + 5000])
            )
            for row in await self.conn.execute(stmt):
                found[tuple(row[1:])] = row[0]
        return found

    def _map(self, pending: list[Pending]) -> list[Pending]:
        mapped = []
        for p in pending:
            if p.id is None or p.id is False or p.key is None:
                continue
            self.resolver.current = p.id
            try:
                row = p.kind.from_fhir(p.resource, self.resolver)
                if p.kind is not MUNICIPALITY:
                    row["id"] = p.id
                if p.kind is PLAN:
                    p.children = municipal.activities_from_fhir(p.resource, self.resolver, row)
                if p.kind is SIP:
                    found = sip.sip_parts_from_fhir(p.resource, self.resolver, row)
                    p.children = [c | {"_table": t} for t, rows in found.items() for c in rows]
                if p.kind.scope == PATIENT:
                    assert p.identity is not None and p.own_identifier is not None
                    kind, value, issuer = p.own_identifier
                    row |= {"identifier_kind": kind, "identifier": value, "reserve_issuer": issuer}
                    p.children = patients.identifier_rows(p.id, p.identity, (kind, value))
            except MappingError as exc:
                self._error(p.raw, p.kind.resource_type, exc.problem.path, exc.problem.reason)
                continue
            except Unsupported as exc:
                self._skip(p.raw, p.kind.resource_type, exc.reason)
                self._drop(p)
                continue
            too_long = _too_long(self.tables[p.kind.table], row)
            if too_long:
                self._error(p.raw, p.kind.resource_type, *too_long)
                continue
            if p.kind.table == "care_unit":
                self.resolver.unit_provider[p.id] = row["care_provider_id"]
            p.row = row
            self._compare(p)
            mapped.append(p)
        return mapped

    def _compare(self, p: Pending) -> None:
        """Report what the row does not hold (no silent change), and keep it for patient data."""
        assert p.row is not None
        if p.kind.scope == PATIENT:
            exported = p.kind.to_fhir(p.row | {"identifiers": p.children}, None)
        elif p.kind is PLAN:
            exported = municipal.plan_to_fhir(p.row, None, p.children)
        elif p.kind is SIP:
            parts: dict[str, list[dict[str, Any]]] = {}
            for child in p.children:
                parts.setdefault(child["_table"], []).append(child)
            exported = sip.sip_to_fhir(p.row, None, parts)
        else:
            exported = p.kind.to_fhir(p.row, None)
        remainder, losses = preserve.compare(
            p.raw.data, loads(dumps(exported)), self._our_reference
        )
        # A protected identity's Patient remainder is never given back (A16, exporter).
        kept = p.kind.scope != REFERENCE and not (
            p.kind.scope == PATIENT and p.row["protected_identity"]
        )
        for loss in losses:
            self.result.skip(
                UnsupportedEntry(
                    p.raw.index,
                    p.kind.resource_type,
                    preserve.reason(loss, kept=kept),
                    p.raw.location,
                    code=UNSUPPORTED_ELEMENT,
                    path=loss.path,
                )
            )
        p.remainder = self._our_references(remainder) if p.kind.scope != REFERENCE else None

    def _our_reference(self, text: str) -> str | None:
        """The reference string our export writes for what `text` points at, if known."""
        target = self.resolver.target(text)
        if target is None or target[0] not in TYPE_OF_TABLE:
            return None
        table, key = target
        rid = municipality_resource_id(key) if table == "municipality" else key
        return f"{TYPE_OF_TABLE[table]}/{rid}"

    def _our_references(self, value: Any) -> Any:
        """References in a remainder to resources of this import or of the database point at
        our ids, as the rest of the export does; others stay as they were."""
        if isinstance(value, dict):
            out = {k: self._our_references(v) for k, v in value.items()}
            text = out.get("reference")
            ours = self._our_reference(text) if isinstance(text, str) else None
            if ours is not None:
                out["reference"] = ours
            return out
        if isinstance(value, list):
            return [self._our_references(v) for v in value]
        return value

    async def _write(self, mapped: list[Pending]) -> None:
        by_table: dict[str, list[Pending]] = {}
        for p in mapped:
            by_table.setdefault(p.kind.table, []).append(p)
        for table_name in TABLE_ORDER:
            group = by_table.get(table_name)
            if not group:
                continue
            table = self.tables[table_name]
            # One statement per resource type, so counts are per type (alerts have two).
            for resource_type in dict.fromkeys(p.kind.resource_type for p in group):
                rows = [p.row for p in group if p.row and p.kind.resource_type == resource_type]
                created, updated = await upsert(self.conn, table, group[0].kind.key, rows)
                self.result.created[resource_type] += created
                self.result.updated[resource_type] += updated
            for p in group:
                if p.row is None:
                    continue
                patient = p.row["id"] if p.kind.scope == PATIENT else p.row.get("patient_id")
                if patient is not None:
                    self.written.append((patient, p.kind.name, p.row["id"]))
            if table_name == PLAN.table:
                await self._write_activities(group)
            if table_name == SIP.table:
                await self._write_sip_parts(group)
            if table_name == "patient":
                await self._write_identifiers([c for p in group for c in p.children])
        await self._write_preserved(mapped)

    async def _write_preserved(self, mapped: list[Pending]) -> None:
        """Keep each patient row's remainder (replacing an earlier import's); a row that now
        holds everything loses its remainder."""
        table = self.tables["fhir_preserved"]
        keep: list[dict[str, Any]] = []
        clear: list[tuple[str, Any]] = []
        for p in mapped:
            if p.row is None or p.kind.scope == REFERENCE:
                continue
            if p.remainder is None:
                clear.append((p.kind.table, p.row["id"]))
                continue
            keep.append(
                {
                    "table_name": p.kind.table,
                    "row_id": p.row["id"],
                    "patient_id": p.row["id"] if p.kind.scope == PATIENT else p.row["patient_id"],
                    "version": p.row.get("version"),
                    "elements": dumps(p.remainder).decode(),
                }
            )
        for start in range(0, len(clear), 5000):
            await self.conn.execute(
                delete(table).where(
                    tuple_(table.c.table_name, table.c.row_id).in_(clear[start : start + 5000])
                )
            )
        if keep:
            values = insert(table)
            stmt = values.on_conflict_do_update(
                index_elements=["table_name", "row_id"],
                set_={c: values.excluded[c] for c in ("patient_id", "version", "elements")},
            )
            await self.conn.execute(stmt, keep)

    async def _write_identifiers(self, rows: list[dict[str, Any]]) -> None:
        """A patient's identifiers are added (never moved: the match made sure no other
        patient holds them); identifiers the patient had before are kept."""
        if not rows:
            return
        table = self.tables["patient_identifier"]
        values = insert(table)
        stmt = values.on_conflict_do_update(
            index_elements=["system", "value"],
            set_={"position": values.excluded.position},
            where=table.c.patient_id == values.excluded.patient_id,
        )
        await self.conn.execute(stmt, rows)

    async def _write_activities(self, plans: list[Pending]) -> None:
        table = self.tables["plan_activity"]
        children = [c for p in plans for c in p.children]
        parents = [(p.row["patient_id"], p.row["id"]) for p in plans if p.row is not None]
        await replace_children(self.conn, table, "plan_id", parents, {c["id"] for c in children})
        if children:
            await upsert(self.conn, table, ("patient_id", "id"), children)
            for c in children:
                self.written.append((c["patient_id"], "PlanActivity", c["id"]))

    async def _write_sip_parts(self, plans: list[Pending]) -> None:
        """A SIP's participants, goals and actions replace those it had (goals before the
        actions that point at them)."""
        parents = [(p.row["patient_id"], p.row["id"]) for p in plans if p.row is not None]
        for name in ("sip_action", "sip_goal", "sip_participant"):
            kept = {c["id"] for p in plans for c in p.children if c["_table"] == name}
            await replace_children(self.conn, self.tables[name], "plan_id", parents, kept)
        for name, type_name in (
            ("sip_participant", "SipParticipant"),
            ("sip_goal", "SipGoal"),
            ("sip_action", "SipAction"),
        ):
            rows = [
                {"created_at": c["written_at"], "updated_at": c["written_at"], "version": 1}
                | {k: v for k, v in c.items() if k != "_table"}
                for p in plans
                for c in p.children
                if c["_table"] == name
            ]
            if rows:
                await upsert(self.conn, self.tables[name], ("patient_id", "id"), rows)
                self.written += [(c["patient_id"], type_name, c["id"]) for c in rows]

    # ------------------------------------------------------------------ reporting

    def _error(self, raw: RawEntry, resource_type: str | None, path: str, reason: str) -> None:
        self.result.error(EntryError(raw.index, resource_type, path, reason, raw.location))

    def _skip(self, raw: RawEntry, resource_type: str | None, reason: str) -> None:
        self.result.skip(UnsupportedEntry(raw.index, resource_type, reason, raw.location))

    def _drop(self, p: Pending) -> None:
        for key in p.keys:
            self.resolver.local.pop(key, None)
            self.resolver.dropped[key] = p.raw.index


def _own_identifier(
    identity: patients.PatientIdentity, existing: Any
) -> tuple[str, str, str | None]:
    """The (kind, value, issuer) the patient row keeps: the best Swedish identifier of the
    entry and the matched row (personnummer, samordningsnummer, reservnummer), else the row's
    or the entry's first external one."""
    candidates: dict[str, tuple[str, str, str | None]] = {
        i.kind: (i.kind, i.value, i.issuer) for i in identity.swedish.values()
    }
    if existing is not None and existing["identifier_kind"] != "external":
        kind = existing["identifier_kind"]
        candidates[kind] = (kind, existing["identifier"], existing["reserve_issuer"])
    for kind in patients.SWEDISH_ORDER:
        if kind in candidates:
            return candidates[kind]
    if existing is not None:
        return "external", existing["identifier"], None
    return "external", identity.external[0].value, None


def _same_name(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def _identity_conflict(
    resource: Any, identity: patients.PatientIdentity, existing: Any
) -> tuple[str, str] | None:
    """(path, reason) when the entry cannot be the patient its identifiers matched."""
    pairs = ", ".join(f"{s}|{v}" for s, v in identity.pairs())
    held = f"{pairs} belongs to a patient here with another"
    kind = existing["identifier_kind"]
    own = identity.swedish.get(kind)
    if own is not None and own.value != existing["identifier"]:
        return f"Patient.identifier[{own.index}]", f"{held} {kind}; nothing was changed"
    if resource.birthDate is not None:
        try:
            born = to_date(resource.birthDate, "Patient.birthDate")
        except MappingError:
            born = None
        if born is not None and born != existing["birth_date"]:
            return "Patient.birthDate", f"{held} birth date; nothing was changed"
    name = next((n for n in resource.name or [] if n.use in (None, "official", "usual")), None)
    if name is not None and name.family and name.given:
        given = " ".join(name.given)
        if not (
            _same_name(name.family, existing["family_name"])
            and _same_name(given, existing["given_name"])
        ):
            return "Patient.name", f"{held} name; nothing was changed"
    return None


def municipal_code(resource: Any) -> str:
    return str(organizations.municipality_from_fhir(resource, None)["code"])  # type: ignore[arg-type]


_LIMITS: dict[str, list[tuple[str, int]]] = {}


def _too_long(table: Table, row: dict[str, Any]) -> tuple[str, str] | None:
    """(column, reason) of the first text longer than its column allows, if any."""
    limits = _LIMITS.get(table.name)
    if limits is None:
        limits = _LIMITS[table.name] = [
            (c.name, limit)
            for c in table.c
            if (limit := getattr(c.type, "length", None)) is not None
        ]
    for name, limit in limits:
        value = row.get(name)
        if isinstance(value, str) and len(value) > limit:
            return name, f"{len(value)} characters; at most {limit} are kept"
    return None


def chunks(entries: Iterable[RawEntry], size: int) -> Iterator[list[RawEntry]]:
    iterator = iter(entries)
    while batch := list(islice(iterator, size)):
        yield batch


async def import_entries(
    conn: AsyncConnection,
    batches: Iterable[list[RawEntry]],
    *,
    options: ImportOptions | None = None,
    audit: AuditBuffer | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import `batches` of entries in a savepoint of `conn`, kept only when there was no error.

    References may point anywhere within a batch (a Bundle is one batch) and backwards across
    batches (NDJSON, see `chunks`). Written rows go to `audit` only when the import succeeds.
    """
    importer = Importer(conn, options or ImportOptions())
    savepoint = await conn.begin_nested()
    try:
        await importer.prepare()
        for batch in batches:
            await importer.process(batch)
            if progress is not None:
                progress(len(batch))
    except BaseException:
        await savepoint.rollback()
        raise
    importer.result.errors.sort(key=lambda e: e.index)
    importer.result.unsupported.sort(key=lambda u: u.index)
    if importer.result.ok:
        await savepoint.commit()
        if audit is not None:
            for patient_id, type_name, row_id in importer.written:
                audit.write(patient_id, type_name, row_id)
    else:
        await savepoint.rollback()
    return importer.result


def bundle_entries(bundle: Any, *, source: str | None = None) -> list[RawEntry]:
    """The entries of a Bundle's JSON (or one resource that is not a Bundle)."""
    if not isinstance(bundle, dict):
        raise BadInput("a FHIR Bundle (a JSON object) is expected", field="bundle")
    if bundle.get("resourceType") != "Bundle":
        return [RawEntry(0, bundle)]
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise BadInput("Bundle.entry must be a list", field="bundle")
    out = []
    for i, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        request = entry.get("request")
        request = request if isinstance(request, dict) else {}
        out.append(
            RawEntry(
                i,
                entry.get("resource"),
                full_url=entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None,
                method=str(request.get("method")) if request.get("method") else None,
                location=f"{source} entry {i}" if source else None,
            )
        )
    return out
