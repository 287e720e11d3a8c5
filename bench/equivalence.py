"""Before timing anything: do the three systems return the same data?

For the first N requests of each read workload, ask vardkedja, PostGraphile and the floor,
bring each answer to the workload's canonical form and compare. For the write, send one request
to each system and check that exactly one new row arrived from each.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson

from bench.fixture import Fixture, PatientRef
from bench.loadgen import HttpConnection, graphql_post
from bench.workloads import Workload
from bench.workloads.base import OURS

if TYPE_CHECKING:
    from bench.run import Servers

PROBE_OFFSET = 90_000_000  # request numbers no measured segment uses
SITUATION_PATIENTS = 50  # patients kept per situation workload


async def ask(port: int, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    conn = await HttpConnection.open(port)
    try:
        status, raw = await conn.send(graphql_post(port, body, headers, "/graphql"))
    finally:
        await conn.close()
    answer: dict[str, Any] = orjson.loads(raw)
    if status != 200 or answer.get("errors") or b'"userErrors":[{' in raw:
        raise RuntimeError(f"HTTP {status}: {raw[:600]!r}")
    return answer


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    """Where two canonical answers first differ (None if equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in one answer"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{k}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


async def answers(
    workload: Workload,
    fx: Fixture,
    servers: Servers,
    conn: asyncpg.Connection,
    i: int,
    systems: list[str],
) -> dict[str, Any]:
    got: dict[str, Any] = {}
    for system in systems:
        if system in OURS:
            server = servers.by_system()[system]
            ours = await ask(server.port, workload.ours_request(fx, i), workload.headers(fx, i))
            got[system] = workload.canonical(system, ours["data"])
    if "postgraphile" in systems:
        pgl = await ask(servers.postgraphile.port, workload.postgraphile_request(fx, i), {})
        got["postgraphile"] = workload.canonical("postgraphile", pgl["data"])
    if "floor" in systems:
        got["floor"] = workload.canonical("floor", await workload.floor(conn, fx, i))
    return got


async def compare_systems(
    size: int,
    workloads: list[Workload],
    fx: Fixture,
    servers: Servers,
    url: str,
    n: int,
    systems: list[str],
) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    out = []
    try:
        for w in workloads:
            mismatches: list[dict[str, Any]] = []
            if w.writes:
                before = await _written(conn, fx)
                for k, system in enumerate(systems):  # request numbers apart: document ids
                    await answers(w, fx, servers, conn, PROBE_OFFSET + k, [system])
                after = await _written(conn, fx)
                if after - before != len(systems):
                    problem = f"{after - before} rows written, not {len(systems)}"
                    mismatches.append({"request": 0, "where": problem})
                checked = 1
            else:
                for i in range(min(n, w.cycle_length(fx))):
                    got = await answers(w, fx, servers, conn, PROBE_OFFSET + i, systems)
                    base_system = systems[-1]
                    for system in systems[:-1]:
                        where = first_difference(got[system], got[base_system])
                        if where:
                            mismatches.append({"request": i, "system": system, "where": where})
                checked = min(n, w.cycle_length(fx))
            out.append(
                {
                    "patients": size,
                    "workload": w.name,
                    "checked": checked,
                    "systems": systems,
                    "mismatches": mismatches,
                }
            )
    finally:
        await conn.close()
    return out


async def narrow_patients(
    fx: Fixture, workload: Workload, servers: Servers, url: str, keep: int, ours: str = "vardkedja"
) -> tuple[Fixture, dict[str, int]]:
    """The fixture's patients whose answer vardkedja gives in full (identical to the floor's).

    The policy hides records of other providers without the patient's consent (A4), which
    PostGraphile and the floor cannot know about; benchmarking those patients would compare
    different data. The candidates are tried in their fixed order, so the choice is
    deterministic for the same data.
    """
    conn = await asyncpg.connect(url)
    kept: list[PatientRef] = []
    try:
        for i, patient in enumerate(fx.patients):
            if len(kept) >= keep:
                break
            got = await answers(workload, fx, servers, conn, i, [ours, "floor"])
            if got[ours] is not None and not first_difference(got[ours], got["floor"]):
                kept.append(patient)
    finally:
        await conn.close()
    tried = min(len(fx.patients), i + 1) if fx.patients else 0
    stats = {
        "candidates_tried": tried,
        "kept": len(kept),
        "policy_hides_records": tried - len(kept),
    }
    read = {p.id for p in kept}
    writes = [p for p in fx.write_patients if p.id not in read] or fx.write_patients
    stats["write_patients"] = len(writes)
    return replace(fx, patients=kept or fx.patients, write_patients=writes), stats


async def _written(conn: asyncpg.Connection, fx: Fixture) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM care_contact WHERE document_id LIKE $1", fx.write_prefix + "%"
    )
    return count


async def narrow_situations(
    fx: Fixture,
    workloads: list[Workload],
    servers: Servers,
    url: str,
    ours: str,
    keep: int = SITUATION_PATIENTS,
) -> tuple[Fixture, dict[str, dict[str, Any]]]:
    """Each situation workload's candidates narrowed as `narrow_patients` does: those whose
    answer (as the situation's caller) vardkedja gives in full, identical to the floor's.
    The first differences seen are kept for the report (what the policy or the twin left
    out), so a workload with no patient left says why."""
    stats: dict[str, dict[str, Any]] = {}
    situations = dict(fx.situations)
    conn = await asyncpg.connect(url)
    try:
        for w in workloads:
            name = getattr(w, "situation", None)
            if name is None or name not in situations:
                continue
            candidates = situations[name].patients
            probe = replace(fx, situations={**situations, name: situations[name]})
            kept: list[PatientRef] = []
            differences: dict[str, int] = {}
            tried = 0
            for i in range(len(candidates)):
                if len(kept) >= keep:
                    break
                tried += 1
                try:
                    got = await answers(w, probe, servers, conn, i, [ours, "floor"])
                except RuntimeError as exc:
                    where = f"error: {str(exc)[:160]}"
                else:
                    where = (
                        first_difference(got[ours], got["floor"])
                        if got[ours] is not None
                        else "no patient"
                    ) or ""
                if not where:
                    kept.append(candidates[i])
                else:
                    key = re.sub(r"\[\d+\]", "[]", where.split(":")[0])
                    differences[key] = differences.get(key, 0) + 1
            situations[name] = replace(situations[name], patients=kept)
            stats[w.name] = {
                "caller": situations[name].role,
                "candidates_tried": tried,
                "kept": len(kept),
                "differences": dict(sorted(differences.items(), key=lambda kv: -kv[1])[:5]),
            }
    finally:
        await conn.close()
    return replace(fx, situations=situations), stats
