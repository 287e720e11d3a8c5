"""The snapshot a subscription takes when it begins decides which log entries are from before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.changes.feed import Cursor, Entry
from app.changes.notify import Snapshot, Subscriber


def entry(txid: int) -> Entry:
    return Entry(Cursor(txid, 1), datetime.now(UTC), uuid.uuid4(), "lab_result", uuid.uuid4(), "I")


def test_a_snapshot_shows_what_had_ended_before_it() -> None:
    snap = Snapshot.parse("100:105:101,103")
    assert snap.shows(99) and snap.shows(102) and snap.shows(104)
    assert not snap.shows(101) and not snap.shows(103)  # still running then
    assert not snap.shows(105) and not snap.shows(200)  # began after


def test_a_subscriber_skips_entries_of_transactions_ended_before_it_began() -> None:
    subscriber = Subscriber(frozenset())
    assert subscriber.wants(entry(1))  # no snapshot yet: nothing is skipped
    subscriber.before = Snapshot.parse("100:105:103")
    assert not subscriber.wants(entry(99))
    assert subscriber.wants(entry(103)) and subscriber.wants(entry(106))


def test_an_empty_running_list_parses() -> None:
    assert Snapshot.parse("7:7:") == Snapshot(7, 7, frozenset())
