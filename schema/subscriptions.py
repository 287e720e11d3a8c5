"""Subscriptions: a clinician watching a patient, the patient app watching its own record.

Fed by the process's ChangeDispatcher (LISTEN/NOTIFY on the change log, app/changes/notify.py),
so a write on any server process reaches subscribers on every process. Each delivery is decided
at send time, in its own transaction: the caller's access to the patient now, then the row as
the policy shows it now (or a tombstone, or an ACCESS_CHANGED hint), audited like a read before
it is sent; what the selection set reads below the row is audited right after.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from app import audit
from app.access.principal import PrincipalKind
from app.changes.feed import Entry
from app.changes.notify import Subscriber, current_snapshot
from app.changes.websocket import LiveContext, expired
from app.context import build_context
from app.errors import AppError, Forbidden, NotFound
from resolvers.changes import visible_entries
from schema.changes import Categories, ChangeCategory, RecordChange, item
from schema.inputs import expect_id


class SubscriptionsUnavailable(AppError):
    code = "SUBSCRIPTIONS_UNAVAILABLE"


class FellBehind(AppError):
    code = "SUBSCRIPTION_FELL_BEHIND"


LiveInfo = strawberry.Info[LiveContext, None]


async def _check_access(
    ctx: LiveContext, patient_ids: frozenset[uuid.UUID], op: str, subscriber: Subscriber
) -> None:
    """NOT_FOUND (and a logged denial) unless the caller may see every one of the patients.

    The same transaction takes the snapshot that tells the subscriber which entries are from
    before it began (it is already registered, so nothing committed after is missed)."""
    assert ctx.db is not None
    async with ctx.db.transaction() as conn:
        subscriber.before = await current_snapshot(conn)
        fresh = build_context(conn, ctx.principal, ctx.settings, operation_name=op)
        decisions = await fresh.data.access(patient_ids)
        denied = [d for d in decisions.values() if not d.may_see_patient]
        for decision in denied:
            fresh.data.deny(decision)
        await audit.flush(conn, fresh.audit, ctx.principal, op)
    if denied:
        raise NotFound("patientId: no such patient", field="patientId")


async def _deliver(ctx: LiveContext, entry: Entry, op: str) -> AsyncGenerator[RecordChange, None]:
    """One entry, decided now in its own transaction; yields nothing if not visible."""
    assert ctx.db is not None
    async with ctx.lock:
        transaction = ctx.db.transaction()
        conn = await transaction.__aenter__()
        fresh = build_context(conn, ctx.principal, ctx.settings, operation_name=op)
        ctx.rebind(fresh)
        try:
            change = None
            if await visible_entries(fresh, [entry]):
                change = await item(fresh, entry)
            # What is about to be sent is on the audit trail before it leaves.
            await audit.flush(conn, fresh.audit, ctx.principal, op)
            if change is not None:
                yield change
        finally:
            # Reads of the selection set below the row (audited after it was sent).
            with contextlib.suppress(Exception):
                await audit.flush(conn, fresh.audit, ctx.principal, op)
            await transaction.__aexit__(None, None, None)


async def _stream(
    ctx: LiveContext,
    patient_ids: frozenset[uuid.UUID],
    categories: list[str] | None,
    op: str,
) -> AsyncGenerator[RecordChange, None]:
    if ctx.dispatcher is None or ctx.db is None:
        raise SubscriptionsUnavailable("subscriptions are not available on this server")
    subscriber: Subscriber = ctx.dispatcher.subscribe(patient_ids)
    try:
        await _check_access(ctx, patient_ids, op, subscriber)
        while not expired(ctx):
            entry = await subscriber.queue.get()
            if subscriber.overflowed:
                raise FellBehind(
                    "the subscription fell behind: catch up with changes(after:), then "
                    "subscribe again"
                )
            if not subscriber.wants(entry):
                continue
            wanted = categories is None or entry.category in categories
            if not (wanted or entry.changes_access):
                continue
            async with contextlib.aclosing(_deliver(ctx, entry, op)) as deliveries:
                async for change in deliveries:
                    yield change
    finally:
        ctx.dispatcher.unsubscribe(subscriber)


async def _own_patient(ctx: LiveContext) -> uuid.UUID:
    """The patient a patient-app token reads: themself, or the one a proxy acts for."""
    from app.access.facts import load_person

    principal = ctx.principal
    if principal.kind not in (PrincipalKind.PATIENT, PrincipalKind.PROXY):
        raise Forbidden("myRecordChanged is for the patient app (patients and proxies)")
    identifier = principal.person_identifier
    if principal.kind is PrincipalKind.PROXY:
        identifier = principal.represented_identifier
    assert ctx.db is not None
    async with ctx.db.transaction() as conn:
        found = await load_person(conn, identifier) if identifier else None
    if found is None:
        raise NotFound("no record for this person")
    return found


def _wanted(categories: list[ChangeCategory] | None) -> list[str] | None:
    return None if categories is None else [str(c.value) for c in categories]


@strawberry.type(description="Changes as they happen, over WebSocket (graphql-transport-ws).")
class Subscription:
    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description="Changes of one patient's record as they are committed, each decided by the "
        "policy when it is sent (rows, tombstones, ACCESS_CHANGED hints; audited like a read). "
        "For clinicians with access to the patient; NOT_FOUND otherwise."
    )
    async def record_changed(
        self,
        info: LiveInfo,
        patient_id: Annotated[
            strawberry.ID, strawberry.argument(description="Global id of the patient.")
        ],
        categories: Categories = None,
    ) -> AsyncGenerator[RecordChange, None]:
        ctx = info.context
        pid = expect_id(patient_id, "Patient", field="patientId")
        if ctx.principal.kind is PrincipalKind.RESEARCH:
            raise Forbidden("subscriptions are not for research clients")
        async for change in _stream(ctx, frozenset({pid}), _wanted(categories), "recordChanged"):
            yield change

    @strawberry.subscription(  # type: ignore[untyped-decorator]
        description="Changes of the logged-in patient's own record (or of the patient a proxy "
        "acts for), with what the patient app may show (A10)."
    )
    async def my_record_changed(
        self, info: LiveInfo, categories: Categories = None
    ) -> AsyncGenerator[RecordChange, None]:
        ctx = info.context
        pid = await _own_patient(ctx)
        async for change in _stream(ctx, frozenset({pid}), _wanted(categories), "myRecordChanged"):
            yield change
