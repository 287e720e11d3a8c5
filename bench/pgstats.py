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
SELECT s.queryid, s.query, s.calls, s.total_exec_time, s.total_plan_time
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


# (calls, total execution ms, total planning ms) per statement; planning is counted when the
# server runs with pg_stat_statements.track_planning (bench.run turns it on), else 0.
Snapshot = dict[tuple[int, str], tuple[int, float, float]]


async def snapshot(conn: asyncpg.Connection) -> Snapshot:
    """Calls and execution time per statement in this database, leaving out the harness's own
    look-ups."""
    rows = await conn.fetch(SNAPSHOT)
    return {
        (r["queryid"] or 0, r["query"]): (r["calls"], r["total_exec_time"], r["total_plan_time"])
        for r in rows
        if "pg_stat_statements" not in r["query"]
    }


def delta(before: Snapshot, after: Snapshot) -> StatementCounts:
    data = control = 0
    for key, (calls, _, _) in after.items():
        n = calls - before.get(key, (0, 0.0, 0.0))[0]
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
    """The statements that took the most execution time since `before` (for the profile
    notes), with their calls, mean execution time and mean planning time."""
    after = await snapshot(conn)
    counted = []
    for key, (calls, ms, plan) in after.items():
        was_calls, was_ms, was_plan = before.get(key, (0, 0.0, 0.0))
        if calls > was_calls:
            counted.append((ms - was_ms, calls - was_calls, plan - was_plan, key[1]))
    counted.sort(reverse=True)
    return [
        {
            "calls": n,
            "total_ms": round(ms, 1),
            "mean_ms": round(ms / n, 3),
            "mean_plan_ms": round(plan / n, 3),
            "query": q[:300],
        }
        for ms, n, plan, q in counted[:limit]
    ]
