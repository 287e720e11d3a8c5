"""bench/scaling.py's CPU accounting: a process tree's CPU from /proc (children included, reaped
ones too) and the per-request split it reports."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.scaling import _children, cpu_per_request, machine_busy, tree_cpu


def test_a_childs_cpu_counts_while_it_runs_and_after_it_is_reaped() -> None:
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    before = tree_cpu(os.getpid(), _children())
    busy_before = machine_busy()
    child = subprocess.Popen([sys.executable, "-c", spin + "\ntime.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while tree_cpu(os.getpid(), _children()) - before < 0.3:
            assert time.monotonic() < deadline, "the child's CPU never showed"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
    reaped = tree_cpu(os.getpid(), _children()) - before
    assert reaped >= 0.3  # now in this process's cutime/cstime
    assert machine_busy() - busy_before >= 0.3


def test_cpu_per_request_splits_ours_from_the_machines() -> None:
    before = {"api": 1.0, "postgres": 2.0, "pgbouncer": 0.0, "loadgen": 0.5, "machine": 10.0}
    after = {"api": 1.3, "postgres": 2.7, "pgbouncer": 0.05, "loadgen": 0.55, "machine": 11.6}
    split = cpu_per_request(before, after, requests=100, seconds=1.0)
    assert split["cpu_ms_per_request"] == {
        "api": 3.0,
        "postgres": 7.0,
        "pgbouncer": 0.5,
        "loadgen": 0.5,
        "all_of_ours": 11.0,
    }
    assert split["busy_cores"] == {"ours": 1.1, "others": 0.5}
