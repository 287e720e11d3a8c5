"""Reference resolution for imports: entries of the same import first (by `Type/id` or fullUrl),
then rows already in the database (by our uuid, or by HSA-id for logical references)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.fhir.mapping.common import HSA_ID, HSA_ID_RIV
from app.fhir.mapping.registry import TABLES_OF_TYPE
from app.fhir.r4 import MappingError

# Ids for resources whose id is not one of our uuids: stable, so a re-import finds them again.
NAMESPACE = uuid.UUID("3b0f6c8e-2a51-4c1e-9a55-7f6f1f2f9e10")
HSA_TABLES = ("care_unit", "care_provider", "practitioner")
Target = tuple[str, Any]  # (table, id or code)


def stable_id(resource_type: str, resource_id: str) -> uuid.UUID:
    """Our uuid for a resource id: itself when it is a uuid, else derived from type and id."""
    try:
        return uuid.UUID(resource_id)
    except ValueError:
        return uuid.uuid5(NAMESPACE, f"{resource_type}/{resource_id}")


def local_key(reference: str) -> str:
    """'http://x/fhir/Patient/1/_history/2' -> 'Patient/1'; 'urn:uuid:..' stays as it is."""
    if reference.startswith("urn:"):
        return reference
    parts = reference.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return "/".join(parts[-2:])


def references_in(data: Any) -> list[tuple[str | None, str | None]]:
    """Every (reference, HSA-id of a logical reference) in a resource's JSON."""
    found: list[tuple[str | None, str | None]] = []
    _references(data, found)
    return found


def _references(data: Any, found: list[tuple[str | None, str | None]]) -> None:
    if isinstance(data, dict):
        ref = data.get("reference")
        ident = data.get("identifier")
        hsa = None
        if isinstance(ident, dict) and ident.get("system") in (HSA_ID, HSA_ID_RIV):
            hsa = ident.get("value")
        if isinstance(ref, str) or isinstance(hsa, str):
            found.append(
                (ref if isinstance(ref, str) else None, hsa if isinstance(hsa, str) else None)
            )
        for value in data.values():
            if isinstance(value, dict | list):
                _references(value, found)
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict | list):
                _references(item, found)


@dataclass
class Defaults:
    source_system_hsa_id: str | None = None
    care_unit_id: uuid.UUID | None = None


class ImportResolver:
    """The Resolver the mappings see during an import (see mapping.common.Resolver)."""

    def __init__(self, conn: AsyncConnection, defaults: Defaults) -> None:
        self.conn = conn
        self.defaults = defaults
        self.local: dict[str, Target] = {}
        self.by_hsa: dict[str, Target] = {}
        self.external: dict[str, Target | None] = {}
        self.unit_provider: dict[uuid.UUID, uuid.UUID] = {}
        self.codes: dict[str, set[str]] = {}
        self.dropped: dict[str, int] = {}  # local key -> entry index, for entries not imported
        self.failed: dict[str, int] = {}  # local key -> entry index, for entries with errors
        self.current: uuid.UUID = uuid.UUID(int=0)

    # ------------------------------------------------------------------ Resolver protocol

    def id_of(self, reference: Any, table: str, path: str) -> uuid.UUID:
        found = self._find(reference, table, path)
        return uuid.UUID(str(found)) if not isinstance(found, uuid.UUID) else found

    def code_of(self, reference: Any, table: str, path: str) -> str:
        return str(self._find(reference, table, path))

    def known_code(self, table: str, code: str, path: str) -> str:
        if code not in self.codes.get(table, set()):
            raise MappingError(path, f"unknown {table.replace('_', ' ')} code {code!r}")
        return code

    def current_id(self) -> uuid.UUID:
        return self.current

    def child_id(self, parent_id: uuid.UUID, own_id: str | None, index: int) -> uuid.UUID:
        if own_id:
            try:
                return uuid.UUID(own_id)
            except ValueError:
                pass
        return uuid.uuid5(NAMESPACE, f"{parent_id}/{own_id or index}")

    def provider_of_unit(self, unit_id: uuid.UUID) -> uuid.UUID | None:
        return self.unit_provider.get(unit_id)

    # ------------------------------------------------------------------ lookups

    def _find(self, reference: Any, table: str, path: str) -> Any:
        text = getattr(reference, "reference", None)
        target: Target | None = None
        if text:
            target = self.local.get(text) or self.local.get(local_key(text))
            target = target or self.external.get(local_key(text))
            if target is None and local_key(text) in self.dropped:
                entry = self.dropped[local_key(text)]
                raise MappingError(path, f"{text!r} is entry {entry}, which is not imported")
            failed = self.failed.get(text, self.failed.get(local_key(text)))
            if target is None and failed is not None:
                raise MappingError(path, f"{text!r} is entry {failed}, which has errors")
        ident = getattr(reference, "identifier", None)
        if target is None and ident is not None and ident.system in (HSA_ID, HSA_ID_RIV):
            target = self.by_hsa.get(str(ident.value)) or self.external.get(f"hsa:{ident.value}")
        if target is None:
            shown = text or (f"identifier {ident.value}" if ident is not None else "(empty)")
            raise MappingError(path, f"{shown} is neither in the import nor in the database")
        found_table, key = target
        if found_table != table:
            shown = text or f"identifier {ident.value if ident is not None else ''}"
            raise MappingError(path, f"{shown} is a {found_table}, expected a {table}")
        return key

    def target(self, text: str) -> Target | None:
        """(table, id or code) a reference string resolves to, if it does."""
        return (
            self.local.get(text)
            or self.local.get(local_key(text))
            or self.external.get(local_key(text))
        )

    def register(self, keys: Iterable[str], table: str, key: Any) -> None:
        for k in keys:
            self.local[k] = (table, key)

    async def load_codes(self) -> None:
        tables = SQLModel.metadata.tables
        for name in ("legal_basis", "insats"):
            rows = await self.conn.execute(select(tables[name].c.code))
            self.codes[name] = {r[0] for r in rows}

    async def load_external(self, references: Iterable[tuple[str | None, str | None]]) -> None:
        """Look up, in a few queries, the referenced rows that are not in the import."""
        wanted: dict[str, set[uuid.UUID]] = {}
        codes: set[str] = set()
        hsas: set[str] = set()
        for text, hsa in references:
            if text is not None:
                key = local_key(text)
                if key in self.local or text in self.local or key in self.external:
                    continue
                resource_type, _, rid = key.partition("/")
                if resource_type == "Organization" and rid.startswith("kommun-"):
                    codes.add(rid.removeprefix("kommun-"))
                elif resource_type in TABLES_OF_TYPE and rid:
                    wanted.setdefault(resource_type, set()).add(stable_id(resource_type, rid))
                self.external.setdefault(key, None)
            elif hsa is not None and hsa not in self.by_hsa and f"hsa:{hsa}" not in self.external:
                hsas.add(hsa)
        tables = SQLModel.metadata.tables
        for resource_type, ids in wanted.items():
            for name in TABLES_OF_TYPE[resource_type]:
                if name == "municipality":
                    continue
                table = tables[name]
                columns = [table.c.id]
                if name == "care_unit":
                    columns.append(table.c.care_provider_id)
                rows = await self.conn.execute(select(*columns).where(table.c.id.in_(ids)))
                for row in rows:
                    self._found(f"{resource_type}/{row[0]}", name, row)
        if codes:
            table = tables["municipality"]
            rows = await self.conn.execute(select(table.c.code).where(table.c.code.in_(codes)))
            for row in rows:
                self.external[f"Organization/kommun-{row[0]}"] = ("municipality", row[0])
        for name in HSA_TABLES if hsas else ():
            table = tables[name]
            columns = [table.c.id, table.c.hsa_id]
            if name == "care_unit":
                columns.append(table.c.care_provider_id)
            rows = await self.conn.execute(select(*columns).where(table.c.hsa_id.in_(hsas)))
            for row in rows:
                self.external[f"hsa:{row[1]}"] = (name, row[0])
                if name == "care_unit":
                    self.unit_provider[row[0]] = row[2]
        self._alias_derived()

    def _found(self, key: str, table: str, row: Any) -> None:
        self.external[key] = (table, row[0])
        if table == "care_unit":
            self.unit_provider[row[0]] = row[1]

    def _alias_derived(self) -> None:
        """'Patient/example' resolves when the row with its derived id was found."""
        for key, target in list(self.external.items()):
            if target is not None or key.startswith("hsa:"):
                continue
            resource_type, _, rid = key.partition("/")
            derived = self.external.get(f"{resource_type}/{stable_id(resource_type, rid)}")
            if derived is not None:
                self.external[key] = derived
        for key in [k for k, v in self.external.items() if v is None]:
            del self.external[key]
