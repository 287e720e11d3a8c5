"""The audit trail (A12): collect disclosures and denials during a request, then write one
entry per patient (and outcome) in the same transaction, before the response is sent.

Entries are hash-chained: each entry's hash is an HMAC-SHA256, under the configured audit key,
of the previous entry's hash and the entry's canonical JSON. Without the key nobody can
forge an entry that verifies, so `vardkedja audit verify` (app/audit_verify.py) finds any
changed, inserted or deleted entry; the key never lives in the database. The table itself is
append-only (trigger, and grants for the API role: migrations 0002 and 0003).

There are CHAINS independent chains (the `chain` column, migration 0006), each with its own lock,
so that concurrent requests do not queue behind one global lock: a request writes all its
entries to one chain, and each chain is a strict sequence that verify checks on its own.

Every write is under the chain's shared key: the INSERT carries the writer's key fingerprint
and succeeds only when it is the one the database records (app/audit_key_guard.py), so a
replica whose key differs refuses to write (AuditKeyMismatch, HTTP 503), not only at its start.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.principal import Principal
from app.audit_key_guard import fingerprint
from app.db import driver_fetch
from app.errors import ServiceUnavailable
from app.models.audit import AuditEntry
from app.models.base import utcnow
from app.observability.metrics import AUDIT_ENTRIES

log = logging.getLogger("vardkedja.audit")

GENESIS = "0" * 64
# A read answered 304 Not Modified (app/etags.py): the same rows, confirmed unchanged.
REVALIDATE_ACTION = "revalidate"
# One writer at a time extends a chain; the lock (CHAIN_LOCK, chain) is held until the
# transaction ends, so a chain's entries get their ids in chain order (READ COMMITTED: the
# SELECT after the lock sees the previous writer's committed head of that chain).
CHAIN_LOCK = 0x7661_7264  # "vard"
CHAINS = 16
# Requests of one process take the chains in turn (from a random start, so that several
# processes spread too): up to CHAINS concurrent flushes of a process never share a lock.
_next_chain = itertools.count(random.randrange(CHAINS))
# The fields an entry's hash covers, in the order of the audit_entry columns.
HASHED_FIELDS = (
    "occurred_at",
    "principal_kind",
    "principal_id",
    "principal_name",
    "care_unit_hsa_id",
    "care_provider_hsa_id",
    "client_id",
    "patient_id",
    "purpose",
    "action",
    "operation",
    "resources",
    "outcome",
    "reason",
    "review_required",
)
# Column widths of audit_entry: longer values are cut before hashing, never rejected.
WIDTHS = {
    "principal_kind": 20,
    "principal_id": 64,
    "principal_name": 200,
    "care_unit_hsa_id": 31,
    "care_provider_hsa_id": 31,
    "client_id": 100,
    "purpose": 10,
    "action": 20,
    "operation": 100,
    "outcome": 20,
    "reason": 500,
}


@dataclass(frozen=True)
class AuditEvent:
    """An entry that is not a plain read, write or denial (emergency step 1, log extract)."""

    patient_id: uuid.UUID | None
    action: str
    outcome: str
    resources: tuple[str, ...]
    reason: str | None = None
    review_required: bool = False


@dataclass
class AuditBuffer:
    """What one request disclosed, wrote or denied, per patient.

    `chain_key` is the HMAC key of the chain; `enabled` is False only when the access policy
    is switched off for benchmarks (settings.access_policy = False).
    """

    disclosed: dict[uuid.UUID, set[str]] = field(default_factory=lambda: defaultdict(set))
    denied: dict[uuid.UUID | None, str] = field(default_factory=dict)
    written: dict[uuid.UUID, set[str]] = field(default_factory=lambda: defaultdict(set))
    events: list[AuditEvent] = field(default_factory=list)
    # The legal basis the policy used for each patient (app/access/bases.py), for `reason`.
    bases: dict[uuid.UUID, str] = field(default_factory=dict)
    chain_key: bytes = b""
    enabled: bool = True

    def disclose(self, patient_id: uuid.UUID, type_name: str, row_id: uuid.UUID | str) -> None:
        self.disclosed[patient_id].add(f"{type_name}:{row_id}")

    def disclose_all(self, patient_id: uuid.UUID, resources: Iterable[str]) -> None:
        """`disclose` of many rows of one patient, given as "Type:id"."""
        self.disclosed[patient_id].update(resources)

    def deny(self, patient_id: uuid.UUID | None, reason: str) -> None:
        self.denied.setdefault(patient_id, reason)

    def write(self, patient_id: uuid.UUID, type_name: str, row_id: uuid.UUID | str) -> None:
        self.written[patient_id].add(f"{type_name}:{row_id}")

    def emergency_step1(self, patient_id: uuid.UUID, resources: list[str]) -> None:
        """A6 step 1: which providers hold blocked data was shown; always to be reviewed."""
        from app.access.facts import EMERGENCY_STEP1_ACTION

        self.events.append(
            AuditEvent(
                patient_id,
                EMERGENCY_STEP1_ACTION,
                "disclosed",
                tuple(sorted(resources)),
                review_required=True,
            )
        )

    def event(self, event: AuditEvent) -> None:
        self.events.append(event)

    @property
    def empty(self) -> bool:
        return not (self.disclosed or self.denied or self.written or self.events)


def _cut(name: str, value: Any) -> Any:
    width = WIDTHS.get(name)
    if width is not None and isinstance(value, str) and len(value) > width:
        return value[:width]
    return value


def _normal(value: Any) -> Any:
    """A value as the canonical JSON writes it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def canonical(content: dict[str, Any]) -> bytes:
    """The canonical JSON of an entry's hashed fields (what verify recomputes from a row)."""
    values = {name: _normal(content[name]) for name in HASHED_FIELDS}
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def entry_hash(prev_hash: str, content: dict[str, Any], key: bytes = b"") -> str:
    """HMAC-SHA256 (plain SHA-256 without a key) over the previous hash and the content."""
    return _link(prev_hash, canonical(content), key)


def _link(prev_hash: str, canonical_content: bytes, key: bytes) -> str:
    message = prev_hash.encode() + canonical_content
    if key:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def entry_content(
    principal: Principal,
    *,
    occurred_at: datetime,
    patient_id: uuid.UUID | None,
    action: str,
    outcome: str,
    resources: list[str],
    operation: str | None,
    reason: str | None,
    review_required: bool | None = None,
) -> dict[str, Any]:
    """The column values of one entry (before chaining), cut to the column widths."""
    content: dict[str, Any] = {
        "occurred_at": occurred_at,
        "principal_kind": principal.kind.value,
        "principal_id": principal.subject,
        "principal_name": principal.name,
        "care_unit_hsa_id": principal.care_unit_hsa_id,
        "care_provider_hsa_id": principal.care_provider_hsa_id,
        "client_id": principal.client_id,
        "patient_id": patient_id,
        "purpose": principal.purpose.value if principal.purpose else None,
        "action": action,
        "operation": operation,
        "resources": resources,
        "outcome": outcome,
        "reason": reason,
        "review_required": (
            principal.emergency_reason is not None if review_required is None else review_required
        ),
    }
    return {name: _cut(name, value) for name, value in content.items()}


# The fields that differ between the entries of one request; the others are the principal's,
# the time and the operation.
OWN_FIELDS = ("patient_id", "action", "resources", "outcome", "reason", "review_required")


class _Entries:
    """The entries of one flush, with their canonical JSON.

    What all entries share is cut and normalised once, so that a request about many patients
    (a population list) costs little per entry; each entry is exactly `entry_content` and its
    JSON exactly `canonical` of it (tests/unit/test_audit_entries.py compares them).
    """

    def __init__(self, principal: Principal, operation: str | None, now: datetime) -> None:
        self.principal = principal
        self.shared = entry_content(
            principal,
            occurred_at=now,
            patient_id=None,
            action="",
            outcome="",
            resources=[],
            operation=operation,
            reason=None,
        )
        for name in OWN_FIELDS:
            del self.shared[name]
        self.shared_json = {name: _normal(value) for name, value in self.shared.items()}
        self.made: list[tuple[dict[str, Any], bytes]] = []

    def add(
        self,
        patient_id: uuid.UUID | None,
        action: str,
        outcome: str,
        resources: list[str],
        reason: str | None,
        review_required: bool | None = None,
    ) -> None:
        own: dict[str, Any] = {
            "patient_id": patient_id,
            "action": _cut("action", action),
            "resources": resources,
            "outcome": _cut("outcome", outcome),
            "reason": _cut("reason", reason),
            "review_required": (
                self.principal.emergency_reason is not None
                if review_required is None
                else review_required
            ),
        }
        in_json = own | {"patient_id": str(patient_id) if patient_id is not None else None}
        text = orjson.dumps(self.shared_json | in_json, option=orjson.OPT_SORT_KEYS)
        self.made.append((self.shared | own, text))


def _entries(
    buffer: AuditBuffer,
    principal: Principal,
    operation: str | None,
    now: datetime,
    revalidation: bool = False,
) -> list[tuple[dict[str, Any], bytes]]:
    """The buffer's entries (content, canonical JSON), in the order they are chained."""
    emergency = principal.emergency_reason
    entries = _Entries(principal, operation, now)
    read = REVALIDATE_ACTION if revalidation else "read"
    # Patients in id order: the order in which a request happened to read them means nothing,
    # and two ways of answering the same request (compiled or not) write the same entries.
    for pid, ids in sorted(buffer.disclosed.items(), key=lambda item: item[0].bytes):
        action = "emergency" if emergency else read
        entries.add(pid, action, "disclosed", sorted(ids), emergency or buffer.bases.get(pid))
    for pid, ids in buffer.written.items():
        entries.add(pid, "write", "written", sorted(ids), emergency or buffer.bases.get(pid))
    for event in buffer.events:
        entries.add(
            event.patient_id,
            event.action,
            event.outcome,
            list(event.resources),
            event.reason or emergency,
            event.review_required or emergency is not None,
        )
    # In patient order, as the disclosures: the order in which concurrent resolvers met the
    # patients says nothing, and both read paths (GraphQL and the planner) write the same.
    denials = sorted(buffer.denied.items(), key=lambda item: item[0].bytes if item[0] else b"")
    for denied_pid, reason in denials:
        if denied_pid is not None and denied_pid in buffer.disclosed:
            continue
        entries.add(denied_pid, "deny", "denied", [], reason)
    return entries.made


AUDIT_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]


INSERTED = (*HASHED_FIELDS, "chain", "prev_hash", "hash")


KEY_MISMATCH = "VKA01"  # the SQLSTATE of audit_key_check's refusal


class AuditKeyMismatch(ServiceUnavailable):
    """This process's audit key is not the one the trail is chained under (another replica
    rotated it, or this one was started with another key): it writes no audit entry, so it
    answers nothing (503) until it is restarted with the shared key."""


def next_chain() -> int:
    return next(_next_chain) % CHAINS


@dataclass(frozen=True)
class Pending:
    """One request's entries, not yet written: its buffer, who asked, and how."""

    buffer: AuditBuffer
    principal: Principal
    operation: str | None
    revalidation: bool = False

    def entries(self, now: datetime) -> list[tuple[dict[str, Any], bytes]]:
        return _entries(self.buffer, self.principal, self.operation, now, self.revalidation)


async def flush(
    conn: AsyncConnection,
    buffer: AuditBuffer,
    principal: Principal,
    operation: str | None,
    *,
    chain: int | None = None,
    revalidation: bool = False,
) -> int:
    """Write the buffer as chained entries (all on one chain); returns how many were written.
    `revalidation`: the answer was not sent, its ETag matched (304): its reads are entries of
    action `revalidate` (app/etags.py)."""
    return await flush_many(
        conn, [Pending(buffer, principal, operation, revalidation)], chain=chain
    )


async def flush_many(
    conn: AsyncConnection, pending: Sequence[Pending], *, chain: int | None = None
) -> int:
    """Write the entries of several requests, in the order given, on one chain and in one
    statement when this process knows the chain's head; returns how many were written. All
    buffers share one key (the process's).

    Everything but the links is computed before the chain's lock is taken: the lock covers
    only the head's check, the INSERT and the commit that follows. Inside a transaction the
    lock is held until it ends, so the entries commit with the request's writes or not at all.
    """
    pending = _unwritten(pending)
    if not pending:
        return 0
    chain = next_chain() if chain is None else chain
    linked = await _append(conn, _Made(pending, utcnow()), chain)
    return linked.written()


@dataclass(frozen=True)
class Head:
    """A chain's last entry: its hash (None: the chain is empty) and time."""

    hash: str | None
    occurred_at: datetime | None


EMPTY = Head(None, None)
# audit_append's `expected` when the writer does not know the head: no head has this hash.
UNKNOWN = "unknown"
# audit_append takes the chain's lock, then reads its head with audit_chain_head (migration
# 0022), a statement of its own after the lock, so it sees the head that the previous holder
# committed. Within a chain `occurred_at` never decreases (flush), so if the chain has an
# entry of the last 40 days its head is one of them: the newest partitions are read first,
# then the whole table, then, when every entry of the chain was archived, the cut it continues
# from (app/audit_archive.py).
APPEND = (
    "SELECT written, head_hash, head_occurred_at FROM audit_append($1, $2, $3, $4, "
    + ", ".join(f"${n}" for n in range(5, 5 + len(INSERTED)))
    + ")"
)
# How often an append links again when another writer moved the head meanwhile.
APPEND_ATTEMPTS = 8
# Each chain's head after this process's last append to it: a prediction, which audit_append
# checks under the chain's lock. A wrong one (another process or a rolled-back transaction
# wrote last) costs one statement more, which returns the real head. Unknown: the same.
_heads: dict[int, Head] = {}


def forget_head(chain: int) -> None:
    """Ask the database for the chain's head next time (an append's outcome is not known)."""
    _heads.pop(chain, None)


async def _append(conn: AsyncConnection, made: _Made, chain: int) -> _Linked:
    """Link `made` after the chain's head and write it with audit_append (migration 0023):
    one statement when the remembered head is still the head, two when it is not known or
    moved. Returns what was written, with the chain's new head remembered."""
    expected = _heads.get(chain)
    for _ in range(APPEND_ATTEMPTS):
        linked = _Linked(made, chain, expected or EMPTY)
        sent = expected.hash if expected is not None else UNKNOWN
        result = await _write(
            conn, APPEND, [CHAIN_LOCK, chain, sent, fingerprint(linked.key), *linked.columns]
        )
        if result[0]["written"]:
            _heads[chain] = linked.last
            return linked
        expected = Head(result[0]["head_hash"], result[0]["head_occurred_at"])
    forget_head(chain)
    raise RuntimeError(f"audit chain {chain}: its head kept moving ({APPEND_ATTEMPTS} attempts)")


def _unwritten(pending: Sequence[Pending]) -> list[Pending]:
    return [p for p in pending if p.buffer.enabled and not p.buffer.empty]


class _Made:
    """The entries of `pending` (content, canonical JSON), made before the chain's lock is
    taken, at `now`."""

    def __init__(self, pending: list[Pending], now: datetime) -> None:
        self.pending, self.now = pending, now
        self.entries = [entry for p in pending for entry in p.entries(now)]

    def at(self, head_time: datetime | None) -> list[tuple[dict[str, Any], bytes]]:
        """The entries to link after a head of this time."""
        if head_time is None or head_time <= self.now:
            return self.entries
        # The head's writer took its time later but the lock first (or another clock runs
        # ahead): take the head's time, so that a chain's times never decrease and archiving
        # whole months leaves each chain an unbroken tail (app/audit_archive.py).
        return [entry for p in self.pending for entry in p.entries(head_time)]


class _Linked:
    """The entries of `pending`, chained after `head` under their shared key: the columns of
    the INSERT (one array per column) and the chain's new head."""

    def __init__(self, made: _Made, chain: int, head: Head) -> None:
        self.pending, self.key = made.pending, made.pending[0].buffer.chain_key
        prev = head.hash or GENESIS
        rows = []
        for content, canonical_content in made.at(head.occurred_at):
            digest = _link(prev, canonical_content, self.key)
            rows.append(content | {"chain": chain, "prev_hash": prev, "hash": digest})
            prev = digest
        self.rows = rows
        self.last = Head(prev, rows[-1]["occurred_at"])
        # One statement on the server (an executemany would run one INSERT per entry).
        self.columns = [[row[name] for row in rows] for name in INSERTED]
        self.columns[INSERTED.index("resources")] = [
            orjson.dumps(r["resources"]).decode() for r in rows
        ]

    def written(self) -> int:
        """Count the rows as written and empty the buffers."""
        AUDIT_ENTRIES.inc(len(self.rows))
        for p in self.pending:
            p.buffer.disclosed.clear()
            p.buffer.denied.clear()
            p.buffer.written.clear()
            p.buffer.events.clear()
        return len(self.rows)


async def _write(conn: AsyncConnection, sql: str, args: list[Any]) -> list[Any]:
    """Run an audit write; a refused key is AuditKeyMismatch (503), logged."""
    try:
        return await driver_fetch(conn, sql, args)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != KEY_MISMATCH:
            raise
        message = str(exc.orig)
        log.error("audit write refused: %s", message)
        raise AuditKeyMismatch(message) from None


def cut_mac(
    key: bytes, *, chain: int, entry_id: int, digest: str, before: datetime, sha256: str
) -> str:
    """The HMAC of an archive cut (app/audit_archive.py): where `chain` goes on after the
    entries before `before` were archived to a file with that SHA-256."""
    message = f"cut:{chain}:{entry_id}:{digest}:{_normal(before)}:{sha256}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
