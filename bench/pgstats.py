"""SQL statements per request, from pg_stat_statements deltas around one benchmark segment.

Only one system runs at a time, so the statements executed in the benchmark database between
two snapshots belong to that system. Transaction control (BEGIN, COMMIT, SAVEPOINT, SET ...)
is counted apart from the statements that read or write data.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

CONTROL: tuple[str, ...] = ("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "SAVEPOINT")
CONTROL += ("RELEASE", "SET ", "RESET", "DISCARD", "SHOW", "DEALLOCATE", "LISTEN", "UNLISTEN")

SNAPSHOT = """
SELECT s.queryid, s.query, s.calls
FROM pg_stat_statements s
JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database() AND s.toplevel
"""


@dataclass
class StatementCounts:
    data: int
    control: int

    def per_request(self, requests: int) -> dict[str, float]:
        if not requests:
            return {"sql_per_request": 0.0, "sql_control_per_request": 0.0}
        return {
            "sql_per_request": self.data / requests,
            "sql_control_per_request": self.control / requests,
        }


Snapshot = dict[tuple[int, str], int]


async def snapshot(conn: asyncpg.Connection) -> Snapshot:
    """Calls per statement in this database, leaving out the harness's own look-ups."""
    rows = await conn.fetch(SNAPSHOT)
    return {
        (r["queryid"] or 0, r["query"]): r["calls"]
        for r in rows
        if "pg_stat_statements" not in r["query"]
    }


def delta(before: Snapshot, after: Snapshot) -> StatementCounts:
    data = control = 0
    for key, calls in after.items():
        n = calls - before.get(key, 0)
        if n <= 0:
            continue
        if key[1].lstrip().upper().startswith(CONTROL):
            control += n
        else:
            data += n
    return StatementCounts(data, control)


async def top_statements(
    conn: asyncpg.Connection, before: Snapshot, limit: int = 12
) -> list[dict[str, object]]:
    """The most executed statements since `before` (for the profile notes)."""
    after = await snapshot(conn)
    counted = [(calls - before.get(key, 0), key[1]) for key, calls in after.items()]
    counted = [c for c in counted if c[0] > 0]
    counted.sort(reverse=True)
    return [{"calls": n, "query": q[:300]} for n, q in counted[:limit]]
