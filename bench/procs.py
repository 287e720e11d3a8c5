"""The processes a benchmark run starts and stops: its own PostgreSQL, and HTTP servers.

Everything started here is stopped here, by pid. Memory is read from /proc (Linux only).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from app.db import EmbeddedServer

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- memory -------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                kids.extend(int(k) for k in f.read().split())
    return kids


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(_children(p))
    return found


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children, in KiB (VmRSS summed)."""
    return sum(_status_kb(p, "VmRSS") for p in process_tree(pid))


def tree_hwm_kb(pid: int) -> int:
    """Lifetime peak resident memory (VmHWM) summed over the process tree, in KiB."""
    return sum(_status_kb(p, "VmHWM") for p in process_tree(pid))


def cpu_by_process(pid: int) -> dict[int, float]:
    """User + system CPU seconds so far of each live process of a tree."""
    out: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[p] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree so far (live processes only)."""
    return sum(cpu_by_process(pid).values())


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two snapshots by the processes alive at the end (never negative;
    processes that ended in between are not counted, so this can undercount)."""
    return sum(max(0.0, cpu - before.get(p, 0.0)) for p, cpu in after.items())


class RssSampler:
    """Samples the resident memory of a process tree in the background; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.samples: list[int] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            rss = tree_rss_kb(self.pid)
            self.samples.append(rss)
            self.peak_kb = max(self.peak_kb, rss)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.samples.append(tree_rss_kb(self.pid))
        self.peak_kb = max(self.peak_kb, self.samples[-1])


# --- PostgreSQL -----------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    """An embedded PostgreSQL in bench/.data/<name>/ with pg_stat_statements loaded."""

    folder: Path
    settings: dict[str, str] = field(default_factory=dict)
    url: str = ""
    _server: EmbeddedServer | None = None

    def start(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)
        self._server = EmbeddedServer(self.folder / "pgdata")
        self.url = self._server.start()
        wanted = {"shared_preload_libraries": "pg_stat_statements", **self.settings}
        # Preloaded libraries and memory settings take effect only after a restart; the
        # extension's own settings exist only once it is loaded, hence up to two passes.
        for _ in range(2):
            if not asyncio.run(self._configure(wanted)):
                break
            self._server.stop()
            self._server = EmbeddedServer(self.folder / "pgdata")
            self.url = self._server.start()
        asyncio.run(self._execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
        return self.url

    async def _configure(self, wanted: dict[str, str]) -> bool:
        """ALTER SYSTEM where a setting differs; True if a restart is needed."""
        conn = await asyncpg.connect(self.url)
        try:
            changed = False
            for name, value in wanted.items():
                try:
                    current = await conn.fetchval(f"SHOW {name}")
                except asyncpg.UndefinedObjectError:
                    changed = True  # a library's setting: known after the restart
                    continue
                if name == "shared_preload_libraries":
                    same = value in {s.strip() for s in str(current).split(",")}
                else:
                    same = str(current) == value
                if not same:
                    await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                    changed = True
            return changed
        finally:
            await conn.close()

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    @property
    def pid(self) -> int | None:
        """The postmaster's pid (its backends are its children)."""
        inner = self._server._server if self._server is not None else None
        return int(inner.get_pid()) if inner is not None else None

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


# --- HTTP servers ----------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A server started as a child process; stopped by its pid."""

    name: str
    argv: Sequence[str]
    port: int
    env: dict[str, str]
    cwd: Path
    log_path: Path
    ready_path: str = "/"
    stop_timeout: float = 10.0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            list(self.argv),
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            if _answers(self.port, self.ready_path):
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        # start_new_session gave it its own process group: stop the group, nothing else.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None


def _answers(port: int, path: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            s.sendall(request.encode())
            return s.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


def ours_argv(port: int) -> list[str]:
    """How the benchmarks run vardkedja: uvicorn with the bench app factory."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "bench.ours_app:create",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
