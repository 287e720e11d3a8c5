"""Persisted operations: the shipped documents in schema/operations/, callable by name or hash.

Each file holds one named operation (plus any fragments it uses) and is named after it, e.g.
EmergencyOverview.graphql. Its id is the sha256 of the file's exact text. A client calls one

- by name: `{"operationName": "EmergencyOverview", "variables": ...}` with no `query`;
- like Apollo APQ: `{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}`;
- by document id: `{"documentId": "sha256:<hex>"}` (the bare hex works too).

With `persisted_operations_only` (allow-list mode) any other document is refused with
PERSISTED_QUERY_REQUIRED; a free-form query whose text is exactly a shipped document counts as
that document. Without it, free-form queries run as usual, and a query sent together with an
APQ hash must match that hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, parse

from app.errors import AppError

OPERATIONS_DIR = Path(__file__).resolve().parent / "operations"


@dataclass(frozen=True)
class PersistedOperation:
    """One shipped operation."""

    name: str
    document: str
    sha256: str
    operation_type: str  # query or mutation

    @property
    def document_id(self) -> str:
        return f"sha256:{self.sha256}"


@dataclass(frozen=True)
class ResolvedDocument:
    """What to execute: the document text, its operation name, and whether it is shipped."""

    query: str
    operation_name: str | None
    persisted: PersistedOperation | None


class Registry:
    """Shipped operations by name and by sha256."""

    def __init__(self, operations: Iterable[PersistedOperation]) -> None:
        self.by_name: dict[str, PersistedOperation] = {}
        self.by_hash: dict[str, PersistedOperation] = {}
        for op in operations:
            if op.name in self.by_name:
                raise ValueError(f"two persisted operations are named {op.name}")
            self.by_name[op.name] = op
            self.by_hash[op.sha256] = op

    def __iter__(self) -> Iterator[PersistedOperation]:
        return iter(sorted(self.by_name.values(), key=lambda op: op.name))

    def __len__(self) -> int:
        return len(self.by_name)


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_operation(path: Path) -> PersistedOperation:
    """Parse one file; it must hold exactly one operation, named like the file."""
    text = path.read_text(encoding="utf-8")
    document = parse(text)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        raise ValueError(f"{path.name}: a persisted document holds exactly one named operation")
    name = operations[0].name.value
    if name != path.stem:
        raise ValueError(
            f"{path.name}: the operation is named {name}; name the file {name}.graphql"
        )
    return PersistedOperation(name, text, sha256_of(text), operations[0].operation.value)


def load_registry(directory: Path = OPERATIONS_DIR) -> Registry:
    return Registry(read_operation(p) for p in sorted(directory.glob("*.graphql")))


REGISTRY = load_registry()


def persisted_error(message: str, code: str) -> AppError:
    return AppError(message, code=code, status=400)


def _requested_hash(extensions: Mapping[str, Any] | None, document_id: str | None) -> str | None:
    """The sha256 a client asked for, from `documentId` or the APQ extension."""
    if document_id is not None:
        return document_id.removeprefix("sha256:").lower()
    apq = (extensions or {}).get("persistedQuery")
    if apq is None:
        return None
    if not isinstance(apq, dict) or apq.get("version") != 1:
        raise persisted_error(
            "extensions.persistedQuery must be {version: 1, sha256Hash}", "BAD_REQUEST"
        )
    digest = apq.get("sha256Hash")
    if not isinstance(digest, str):
        raise persisted_error(
            "extensions.persistedQuery.sha256Hash must be a string", "BAD_REQUEST"
        )
    return digest.lower()


def resolve_persisted(
    query: str | None,
    operation_name: str | None,
    extensions: Mapping[str, Any] | None,
    *,
    document_id: str | None = None,
    only_persisted: bool,
    registry: Registry = REGISTRY,
) -> ResolvedDocument:
    """The document a request asks to run, or an AppError (status 400) saying why not."""
    digest = _requested_hash(extensions, document_id)
    if digest is not None:
        if query is not None:
            if sha256_of(query) != digest:
                raise persisted_error(
                    "the sha256Hash does not match the query", "PERSISTED_QUERY_HASH_MISMATCH"
                )
        else:
            found = registry.by_hash.get(digest)
            if found is None:
                raise persisted_error(
                    f"no shipped operation has the hash {digest[:16]}...",
                    "PERSISTED_QUERY_NOT_FOUND",
                )
            return ResolvedDocument(found.document, operation_name, found)
    if query is None:
        if operation_name is None:
            raise persisted_error(
                "the request has no query (send query, or a persisted operation by name or hash)",
                "BAD_REQUEST",
            )
        by_name = registry.by_name.get(operation_name)
        if by_name is None:
            raise persisted_error(
                f"no shipped operation is named {operation_name!r}", "PERSISTED_QUERY_NOT_FOUND"
            )
        return ResolvedDocument(by_name.document, operation_name, by_name)
    shipped = registry.by_hash.get(sha256_of(query))
    if shipped is None and only_persisted:
        raise persisted_error(
            "this server runs only shipped operations: call one by operationName, "
            "extensions.persistedQuery.sha256Hash or documentId",
            "PERSISTED_QUERY_REQUIRED",
        )
    return ResolvedDocument(query, operation_name, shipped)
