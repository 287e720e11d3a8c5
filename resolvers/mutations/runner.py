"""Run one mutation: savepoint, idempotency key, audit of written rows, read back.

A mutation body gets a `Writer`, validates, writes, and returns the rows of its payload as
RowRefs. It runs inside a savepoint of the request transaction: if it raises, everything it
wrote is rolled back while the request (and its audit entries) goes on.

A row of the payload inserted with `payload=True` is not read back: its INSERT returns it,
together with the policy's visibility predicate over the new row (the caller's decision on the
patient, made before the insert), so the payload costs no statement of its own. When that
decision no longer holds at the end (the body recorded a care relationship or a consent and
called `ctx.data.forget`), or the row was updated after its insert, it is read back as before.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import orjson
from sqlalchemy import ColumnElement, RowMapping, Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from app.access.data import visibility_of
from app.access.policy import PatientAccess
from app.context import Context
from app.models import IdempotencyKey
from app.sqlplan import PLANS, Placeholder, Plan, compile_plan, plan_per_decision
from resolvers.mutations.checks import now
from resolvers.mutations.outcome import Code, Outcome, Problem, Rejected, RowRef, reject
from resolvers.mutations.policy import require_principal
from resolvers.mutations.tables import TABLES

Body = Callable[["Writer"], Awaitable[Mapping[str, RowRef]]]
IDEMPOTENCY = IdempotencyKey.__table__  # type: ignore[attr-defined]
KEY_LENGTH = 100


# The column of a returned row that says whether the caller may see it (no table has it).
VISIBLE = "vardkedja_visible"
# The prefix of the columns an INSERT computes for `also`.
ALSO = "vardkedja_also_"


@dataclass(frozen=True)
class Returned:
    """A row as its INSERT returned it, and whether `decision` lets the caller see it."""

    row: RowMapping
    visible: bool
    decision: PatientAccess


DUPLICATE_DOCUMENT = "the source system already has a document with this documentId for the patient"


@functools.cache
def document_key(table: Table) -> list[str] | None:
    """The columns of the table's unique (patient, source system, documentId) index, if any."""
    for index in table.indexes:
        if index.unique and index.name == f"uq_{table.name}_patient_source_document":
            return [column.name for column in index.columns]
    return None


def row_values(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """The values of a new row: `values` and the model's defaults for the fields it leaves
    out (what `model(**values).model_dump()` gives, without building the model)."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in values:
            data[name] = values[name]
        elif info.default_factory is not None:
            data[name] = info.default_factory()  # type: ignore[call-arg]
        elif not info.is_required():
            data[name] = info.default
    return data


# The prefix of an INSERT's value slots (a column name may be any word, `pid` included).
VALUE = "value_"


@dataclass(frozen=True)
class Also:
    """An expression an INSERT computes besides its row (`Writer.insert`'s `also`): `build`
    makes it from bind parameters named as the keys of `values`, once per plan."""

    build: Callable[[], ColumnElement[Any]]
    values: Mapping[str, Any]

    def expression(self) -> ColumnElement[Any]:
        """The expression with its values (for a statement of its own)."""
        return self.build().params(**self.values)


def _insert_plan(
    table: Table,
    names: tuple[str, ...],
    decision: PatientAccess | None,
    document: list[str] | None,
    also: Mapping[str, Also],
) -> Plan:
    """The INSERT of these columns, ON CONFLICT DO NOTHING on `document` if given, returning
    the row with its visibility under `decision` (if given) and the `also` expressions. Its
    tag says whether it returns a row."""
    key = (
        "insert",
        table.name,
        names,
        document is not None,
        tuple((name, expression.build) for name, expression in also.items()),
    )

    def make(stand_in: PatientAccess | None, marker: uuid.UUID | None) -> Plan:
        row = {name: bindparam(VALUE + name, None, type_=table.c[name].type) for name in names}
        statement: Any = insert(table).values(**row)
        returning: list[Any] = []
        if stand_in is not None:
            returning = [*table.c, visibility_of(table, [stand_in]).label(VISIBLE)]
        if document is not None:
            statement = (
                pg_insert(table).values(**row).on_conflict_do_nothing(index_elements=document)
            )
            returning = returning or [table.c.id]
        returning += [e.build().label(f"{ALSO}{name}") for name, e in also.items()]
        if returning:
            statement = statement.returning(*returning)
        slots = [VALUE + name for name in names] + [n for e in also.values() for n in e.values]
        marks: dict[Placeholder, str] = {marker: "pid"} if marker is not None else {}
        return compile_plan(
            statement, names=slots, placeholders=marks, optional=["pid"], tag=bool(returning)
        )

    if decision is None:
        return PLANS.get((*key, None), lambda: make(None, None))
    return plan_per_decision(key, decision, make)


@dataclass
class Writer:
    """Writes of one mutation; remembers what it wrote for the audit trail."""

    ctx: Context
    written: list[RowRef] = field(default_factory=list)
    returned: dict[RowRef, Returned] = field(default_factory=dict)
    also: dict[RowRef, dict[str, Any]] = field(default_factory=dict)
    # No savepoint around the body (run_mutation's `writes_last`): the first insert turns a
    # duplicate documentId into DUPLICATE without an error, and `wrote` says whether anything
    # was written (after which nothing may be refused).
    unguarded: bool = False
    wrote: bool = False

    async def insert(
        self,
        model: type[SQLModel],
        values: dict[str, Any],
        *,
        payload: bool = False,
        also: Mapping[str, Also] | None = None,
    ) -> RowRef:
        """Insert one row (model defaults filled in) and return its reference.

        `payload`: the row is part of the mutation's answer. The caller's decision on the
        patient is made first (once per request), and the INSERT returns the row with its
        visibility under that decision, so it need not be read back (module docstring). Only
        for a row whose visibility nothing the mutation writes after it changes, except
        through a new decision (`ctx.data.forget`): the predicate may read other tables (a
        referral's answer is visible once the referral points to it, so answerReferral, which
        sets that pointer after the insert, reads its answer back).
        `also`: expressions the INSERT computes besides (what the mutation would otherwise ask
        in a statement of its own), over the database as it was before the insert; their
        values are in `self.also[ref]`.

        The statement is built and compiled once per table, columns, decision shape and
        `also`, and prepared on the connection (app/sqlplan.py): a write binds its values.
        """
        data = row_values(model, values)
        table: Table = model.__table__  # type: ignore[attr-defined]
        patient_id = data.get("patient_id", data["id"])
        ref = RowRef(model.__name__, patient_id, data["id"])
        also = also or {}
        decision = None
        if payload and "patient_id" in data:
            decision = (await self.ctx.data.access([patient_id]))[patient_id]
        document = document_key(table) if self.unguarded and not self.wrote else None
        plan = _insert_plan(table, tuple(data), decision, document, also)
        bound = {VALUE + name: value for name, value in data.items()} | {"pid": patient_id}
        for expression in also.values():
            bound |= expression.values
        if document is None:
            self.wrote = True  # if it fails, the transaction fails with it
        rows = await plan.rows(self.ctx.conn, **bound)
        if plan.tag:  # the plan returns the row
            if not rows:  # only ON CONFLICT DO NOTHING returns no row: nothing written
                raise reject("input.documentId", Code.DUPLICATE, DUPLICATE_DOCUMENT)
            self.wrote = True
            row = dict(rows[0])
            self.also[ref] = {name: row.pop(f"{ALSO}{name}") for name in also}
            if decision is not None:
                shown = bool(row.pop(VISIBLE))
                self.returned[ref] = Returned(cast(RowMapping, row), shown, decision)
        self.written.append(ref)
        return ref

    async def update(
        self, ref: RowRef, expected_version: int, values: dict[str, Any], *, field: str
    ) -> None:
        """Update a row if it still has `expected_version` (+1 to it); else CONFLICT or
        NOT_FOUND. No lost updates: the version check is in the UPDATE's WHERE."""
        table = TABLES[ref.type_name]
        statement = (
            update(table)
            .where(
                table.c.patient_id == ref.patient_id,
                table.c.id == ref.id,
                table.c.version == expected_version,
            )
            .values(**values, version=table.c.version + 1, updated_at=now())
            .returning(table.c.id)
        )
        if (await self.ctx.conn.execute(statement)).first() is None:
            current = await self.ctx.conn.execute(
                select(table.c.version).where(
                    table.c.patient_id == ref.patient_id, table.c.id == ref.id
                )
            )
            version = current.scalar()
            if version is None:
                raise reject(field, Code.NOT_FOUND, f"{field}: no such {ref.type_name}")
            raise reject(
                "input.version",
                Code.CONFLICT,
                f"the {ref.type_name} is at version {version}, not {expected_version}: "
                "read it again and retry",
            )
        self.wrote = True
        self.returned.pop(ref, None)
        self.written.append(ref)


def stale(row: RowMapping, expected_version: int) -> None:
    """CONFLICT when a row read (and locked) in this mutation is not at the client's version."""
    if row["version"] != expected_version:
        raise reject(
            "input.version",
            Code.CONFLICT,
            f"it is at version {row['version']}, not {expected_version}: read it again and retry",
        )


def fingerprint(command: Any) -> str:
    """A hash of the whole input: a key reused with other input is refused."""
    data = asdict(command) if hasattr(command, "__dataclass_fields__") else command
    data = {k: v for k, v in data.items() if k != "idempotency_key"}
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()


def key_owner(ctx: Context) -> str:
    """Keys are scoped to the principal (HSA-id or client); long subjects are hashed."""
    owner = f"{ctx.principal.kind.value}:{ctx.principal.subject}"
    return owner if len(owner) <= 64 else hashlib.sha256(owner.encode()).hexdigest()


class _Replay(Exception):
    def __init__(self, stored: dict[str, Any], operation: str) -> None:
        super().__init__(operation)
        self.stored, self.operation = stored, operation


async def _claim_key(ctx: Context, key: str, operation: str) -> None:
    """Take the key for this request, or raise _Replay with the first request's result.

    The insert waits for a concurrent request holding the same key, so only one writes.
    """
    owner = key_owner(ctx)
    claimed = await ctx.conn.execute(
        pg_insert(IDEMPOTENCY)
        .values(principal_id=owner, key=key, operation=operation, response={}, created_at=now())
        .on_conflict_do_nothing()
        .returning(IDEMPOTENCY.c.key)
    )
    if claimed.first() is None:
        found = await ctx.conn.execute(
            select(IDEMPOTENCY.c.operation, IDEMPOTENCY.c.response).where(
                IDEMPOTENCY.c.principal_id == owner, IDEMPOTENCY.c.key == key
            )
        )
        row = found.one()
        raise _Replay(row.response, row.operation)


async def _store_key(ctx: Context, key: str, refs: Mapping[str, RowRef], print_: str) -> None:
    response = {"fingerprint": print_, "rows": {n: r.to_json() for n, r in refs.items()}}
    await ctx.conn.execute(
        update(IDEMPOTENCY)
        .where(IDEMPOTENCY.c.principal_id == key_owner(ctx), IDEMPOTENCY.c.key == key)
        .values(response=response)
    )


def _database_problem(exc: DBAPIError) -> Problem | None:
    """Constraint and data errors the input caused, as user errors (the rest are bugs)."""
    # Through SQLAlchemy the driver's error is the cause of exc.orig; straight from the
    # driver (app/db.driver_fetch, the prepared INSERTs) it is exc.orig itself.
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    sqlstate = str(getattr(cause, "sqlstate", "") or "")
    constraint = str(getattr(cause, "constraint_name", "") or "")
    if sqlstate == "23505":
        if constraint.endswith("_patient_source_document"):
            return Problem("input.documentId", Code.DUPLICATE, DUPLICATE_DOCUMENT)
        if constraint == "uq_patient_identifier":
            return Problem("input.identifier", Code.DUPLICATE, "a patient has this identifier")
        return Problem(None, Code.DUPLICATE, "this already exists")
    if sqlstate.startswith("22"):
        return Problem(None, Code.INVALID_VALUE, "a value is out of range for its field")
    return None


async def read_back(
    ctx: Context, ref: RowRef, returned: Returned | None = None
) -> RowMapping | None:
    """The row as the caller may see it (None if the policy hides it); disclosure audited.

    `returned`: the row as its INSERT returned it, used when the decision it was filtered by
    is still the request's decision on the patient (what `visibility` would use now)."""
    if returned is not None and ctx.data.decided(ref.patient_id) is returned.decision:
        if not returned.decision.may_see_patient:
            ctx.data.deny(returned.decision)
        if not returned.visible:
            return None
        return ctx.data.returned([returned.row], ref.type_name)[0]
    table = TABLES[ref.type_name]
    if ref.type_name == "Patient":
        if ref.id not in await ctx.data.visible_patients([ref.id]):
            return None
        where = table.c.id == ref.id
    else:
        where = await ctx.data.visible_keys(table, [(ref.patient_id, ref.id)])
    rows = await ctx.data.fetch(select(table).where(where), disclose=ref.type_name)
    return rows[0] if rows else None


async def _outcome(
    ctx: Context,
    refs: Mapping[str, RowRef],
    replayed: bool,
    returned: Mapping[RowRef, Returned] | None = None,
) -> Outcome:
    known = returned or {}
    rows = {name: await read_back(ctx, ref, known.get(ref)) for name, ref in refs.items()}
    return Outcome(rows=rows, replayed=replayed, refs=refs)


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    cleaned = key.strip()
    if not cleaned or len(cleaned) > KEY_LENGTH:
        raise reject(
            "input.idempotencyKey",
            Code.INVALID_VALUE,
            f"input.idempotencyKey must have 1-{KEY_LENGTH} characters",
        )
    return cleaned


async def run_mutation(
    ctx: Context,
    operation: str,
    command: Any,
    body: Body,
    *,
    idempotency_key: str | None,
    writes_last: bool = False,
) -> Outcome:
    """Run `body` as one all-or-nothing step of the request transaction.

    `writes_last`: the body refuses (raises Rejected) only before its first write, and its
    writes are inserts through the Writer that can fail only for a duplicate documentId, on
    the first. Without an idempotency key it then runs without a savepoint (SAVEPOINT and
    RELEASE are two round trips): the first insert answers a duplicate with DUPLICATE and
    writes nothing (ON CONFLICT DO NOTHING), and anything that fails after a write fails the
    whole request, whose transaction is rolled back (`_unguarded`).
    """
    require_principal(ctx)
    # Only a key needs the input's fingerprint (a key reused with other input is refused).
    print_ = fingerprint(command) if idempotency_key is not None else ""
    writer = Writer(ctx)
    if writes_last and idempotency_key is None:
        writer.unguarded = True
        try:
            refs = await _unguarded(writer, body)
        except Rejected as rejected:
            return Outcome(problems=rejected.problems)
        return await _written(ctx, writer, refs)
    try:
        key = _check_key(idempotency_key)
        async with ctx.conn.begin_nested():
            if key is not None:
                await _claim_key(ctx, key, operation)
            refs = await body(writer)
            if key is not None:
                await _store_key(ctx, key, refs, print_)
    except _Replay as replay:
        return await _replayed(ctx, replay, operation, print_)
    except Rejected as rejected:
        return Outcome(problems=rejected.problems)
    except DBAPIError as exc:
        problem = _database_problem(exc)
        if problem is None:
            raise
        return Outcome(problems=[problem])
    return await _written(ctx, writer, refs)


async def _written(ctx: Context, writer: Writer, refs: Mapping[str, RowRef]) -> Outcome:
    for ref in writer.written:
        ctx.audit.write(ref.patient_id, ref.type_name, ref.id)
    return await _outcome(ctx, refs, replayed=False, returned=writer.returned)


class UnfinishedWrite(DBAPIError):
    """A mutation without a savepoint failed after it wrote: the request's transaction must
    not commit (the endpoint rolls back a request whose field failed with a DBAPIError)."""


async def _unguarded(writer: Writer, body: Body) -> Mapping[str, RowRef]:
    """`body` without a savepoint (run_mutation's `writes_last`). A database error leaves the
    transaction failed (the request ends with it, nothing committed); anything raised after a
    write is turned into one, so that what was written is rolled back, never committed."""
    try:
        return await body(writer)
    except DBAPIError:
        raise
    except BaseException as exc:
        if writer.wrote and isinstance(exc, Exception):
            raise UnfinishedWrite(
                "a mutation failed after its write", None, exc, hide_parameters=True
            ) from exc
        raise


async def _replayed(ctx: Context, replay: _Replay, operation: str, print_: str) -> Outcome:
    field_ = "input.idempotencyKey"
    if replay.operation != operation:
        message = f"this idempotency key was used for {replay.operation}"
        return Outcome(problems=[Problem(field_, Code.CONFLICT, message)])
    if replay.stored.get("fingerprint") != print_:
        message = "this idempotency key was used with different input"
        return Outcome(problems=[Problem(field_, Code.CONFLICT, message)])
    refs = {name: RowRef.from_json(raw) for name, raw in replay.stored["rows"].items()}
    return await _outcome(ctx, refs, replayed=True)
