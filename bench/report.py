"""Results of a run as a Markdown table (bench/results/latest.md) and a chart (latest.png)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SYSTEM_LABELS = {
    "vardkedja": "vardkedja planner (default)",
    "loader": "vardkedja loader path",
    "postgraphile": "PostGraphile 5",
    "floor": "asyncpg floor",
}


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _mean_load(run: dict[str, Any]) -> float:
    loads = [s["loadavg_1m"] for s in run.get("segments", []) if "loadavg_1m" in s]
    return sum(loads) / len(loads) if loads else float("nan")


def _load_note(run: dict[str, Any]) -> str:
    load = _mean_load(run)
    if load != load:  # not recorded (older runs)
        return ""
    return (
        f" Mean 1-minute load average during the segments: {load:.1f} (above "
        f"{run['machine']['cpus']}, other work competed for the CPUs: compare systems within "
        "this run only)."
    )


def cpu_ms(row: dict[str, Any]) -> float:
    """CPU ms per request of the server process and PostgreSQL together."""
    return float(row["server_cpu_ms_per_request"]) + float(row.get("db_cpu_ms_per_request", 0.0))


WRITES = ("record_contact",)


def targets(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of issue 18, each judged on this run's numbers (the planner's system)."""
    rows = run["summary"]
    by = {(r["patients"], r["workload"], r["system"]): r for r in rows}
    sizes = sorted({r["patients"] for r in rows})
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    checks: list[dict[str, Any]] = []
    for size in sizes:
        for workload in workloads:
            ours, pgl = (
                by.get((size, workload, "vardkedja")),
                by.get((size, workload, "postgraphile")),
            )
            if ours and pgl and pgl["rps"]:
                ratio = ours["rps"] / pgl["rps"]
                goal = 0.5 if workload in WRITES else 1.0
                checks.append(
                    {
                        "target": f"{workload} @ {size:,}: req/s >= {goal}x PostGraphile's",
                        "measured": f"{ratio:.2f}x",
                        "met": ratio >= goal,
                    }
                )
    for size in sizes:
        for workload in workloads:
            ours = by.get((size, workload, "vardkedja"))
            planning = ours and ours.get("planning_cpu_us_per_planned_request")
            if planning is not None and workload not in WRITES:
                checks.append(
                    {
                        "target": f"{workload} @ {size:,}: planning CPU < 0.3 ms per request",
                        "measured": f"{planning / 1000:.3f} ms",
                        "met": planning < 300,
                    }
                )
    big = max(sizes) if sizes else None
    if big is not None:
        for workload in workloads:
            ours = by.get((big, workload, "vardkedja"))
            if ours and workload not in WRITES:
                checks.append(
                    {
                        "target": f"{workload} p99 < 50 ms @ {big:,}"
                        + ("" if big == 100_000 else " (the target is set at 100,000)"),
                        "measured": f"{ours['p99_ms']:.1f} ms",
                        "met": ours["p99_ms"] < 50.0,
                    }
                )
    for size in sizes:
        flat = run.get("rss_flat", {}).get(str(size))
        if flat:
            checks.append(
                {
                    "target": f"server RSS flat over the run @ {size:,}",
                    "measured": f"{flat['first_mib']:.0f} -> {flat['last_mib']:.0f} MiB "
                    f"({flat['growth_pct']:+.1f}%)",
                    "met": flat["growth_pct"] <= 5.0,
                }
            )
    return checks


def ratios(run: dict[str, Any]) -> list[str]:
    """planner/PostGraphile, loader/PostGraphile and planner/loader, in req/s and in CPU per
    request (x > 1: the first is faster, or uses less CPU)."""
    rows = run["summary"]
    by = {(r["patients"], r["workload"], r["system"]): r for r in rows}
    keys = list(dict.fromkeys((r["patients"], r["workload"]) for r in rows))
    lines = [
        "| patients | workload | planner / PGL req/s | loader / PGL req/s | planner / loader"
        " req/s | planner / PGL CPU | loader / PGL CPU | planner / loader CPU |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]

    def rate(a: str, b: str, size: int, w: str) -> str:
        x, y = by.get((size, w, a)), by.get((size, w, b))
        return f"{x['rps'] / y['rps']:.2f}x" if x and y and y["rps"] else "–"

    def cpu(a: str, b: str, size: int, w: str) -> str:
        x, y = by.get((size, w, a)), by.get((size, w, b))
        return f"{cpu_ms(y) / cpu_ms(x):.2f}x" if x and y and cpu_ms(x) else "–"

    pairs = (("vardkedja", "postgraphile"), ("loader", "postgraphile"), ("vardkedja", "loader"))
    for size, w in keys:
        cells = [rate(a, b, size, w) for a, b in pairs] + [cpu(a, b, size, w) for a, b in pairs]
        lines.append(f"| {size:,} | {w} | " + " | ".join(cells) + " |")
    return lines


def markdown(run: dict[str, Any]) -> str:
    opts = run["options"]
    lines = [
        f"# Benchmark run {run['started_at']}",
        "",
        f"{opts['concurrency']} concurrent clients, {opts['rounds']} rounds of "
        f"{opts['duration']:g} s per system and workload, systems alternating in each round. "
        f"Machine: {run['machine']['cpus']} CPUs shared by the servers, PostgreSQL and the load "
        "generator. Load generator ceiling against a no-op server: "
        f"{_fmt(run.get('loadgen_ceiling_rps'), 0)} req/s." + _load_note(run),
        "",
        "| patients | workload | system | req/s | p50 ms | p99 ms | CPU ms/req | server CPU"
        " | PG CPU | SQL/req | peak RSS MiB | errors | req/s vs PGL |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = run["summary"]
    pgl = {(r["patients"], r["workload"]): r["rps"] for r in rows if r["system"] == "postgraphile"}
    for r in rows:
        base = pgl.get((r["patients"], r["workload"]))
        rel = f"{r['rps'] / base:.2f}x" if base else "–"
        lines.append(
            f"| {r['patients']:,} | {r['workload']} | {SYSTEM_LABELS.get(r['system'], r['system'])}"
            f" | {_fmt(r['rps'], 0)} | {_fmt(r['p50_ms'], 2)} | {_fmt(r['p99_ms'], 2)}"
            f" | {_fmt(cpu_ms(r), 2)} | {_fmt(r['server_cpu_ms_per_request'], 2)}"
            f" | {_fmt(r.get('db_cpu_ms_per_request'), 2)} | {_fmt(r['sql_per_request'], 1)}"
            f" | {_fmt(r['peak_rss_mib'], 0)}"
            f" | {r['errors']} | {rel} |"
        )
    lines += ["", "## Ratios", "", *ratios(run)]
    checks = targets(run)
    if checks:
        lines += ["", "## Targets (issue 18)", "", "| target | measured | met |", "|---|---:|---|"]
        lines += [
            f"| {c['target']} | {c['measured']} | {'yes' if c['met'] else '**no**'} |"
            for c in checks
        ]
    callers = [
        f"- {size} patients, {w}: {st['caller']}; {st['kept']} patients kept of "
        f"{st['candidates_tried']} tried"
        + (f" (first differences: {st['differences']})" if st["differences"] else "")
        for size, chosen in run.get("patients", {}).items()
        for w, st in (chosen or {}).get("situations", {}).items()
    ]
    if callers:
        lines += ["", "## Callers and patients of the situation workloads", "", *callers]
    eq = run.get("equivalence", [])
    if eq:
        lines += ["", "## Same data from each system", ""]
        for e in eq:
            verdict = "identical" if not e["mismatches"] else f"{len(e['mismatches'])} differ"
            lines.append(
                f"- {e['patients']:,} patients, {e['workload']}: {e['checked']} requests "
                f"compared across {', '.join(e['systems'])}: {verdict}"
            )
    lines += [
        "",
        "SQL/req: statements that read or write data per request, from pg_stat_statements "
        "(transaction control such as BEGIN/COMMIT not counted; see the JSON for it). "
        "CPU ms/req: CPU time per request of the server process (for the floor: its client "
        "process) plus PostgreSQL's (its backends), the measure least disturbed by other load; "
        "a ratio of CPU is the other's CPU per request over this one's (above 1: less CPU). "
        "Peak RSS: the server process tree (for the floor: the asyncpg client process).",
        "",
    ]
    return "\n".join(lines)


def chart(run: dict[str, Any], path: Path) -> None:
    """Requests/s and p99 per workload, one group of bars per system, one row per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = run["summary"]
    sizes = sorted({r["patients"] for r in rows})
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    systems = list(dict.fromkeys(r["system"] for r in rows))
    fig, axes = plt.subplots(len(sizes), 2, figsize=(11, 3.2 * len(sizes) + 0.6), squeeze=False)
    width = 0.8 / max(1, len(systems))
    for row, size in enumerate(sizes):
        for col, (metric, label) in enumerate(
            (("rps", "requests/s"), ("p99_ms", "p99 latency (ms)"))
        ):
            ax = axes[row][col]
            for k, system in enumerate(systems):
                values = []
                for w in workloads:
                    hit = [
                        r
                        for r in rows
                        if r["patients"] == size and r["workload"] == w and r["system"] == system
                    ]
                    values.append(hit[0][metric] if hit else 0.0)
                xs = [i + (k - (len(systems) - 1) / 2) * width for i in range(len(workloads))]
                ax.bar(xs, values, width, label=SYSTEM_LABELS.get(system, system))
            ax.set_xticks(range(len(workloads)), workloads)
            ax.set_title(f"{size:,} patients: {label}")
            if metric == "p99_ms":
                ax.set_yscale("log")
            ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        f"vardkedja vs PostGraphile 5 vs asyncpg floor ({run['options']['concurrency']} clients)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
