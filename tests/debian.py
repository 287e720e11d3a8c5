"""Debian packages the tests drive (chromium, pgbouncer, docker-compose): installed with apt-get
when missing and the tests run as root, else the test fails and names the command. A test of
these never skips: CI (.ci/run) must run it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def ensure_package(binary: str, package: str) -> str:
    """`binary` (an absolute path), installing Debian's `package` first when it is missing."""
    if Path(binary).exists():
        return binary
    if os.geteuid() != 0:
        raise AssertionError(f"{binary} is missing: apt-get install {package} (as root)")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(step)} failed: {done.stderr[-2000:]}")
    if not Path(binary).exists():
        raise AssertionError(f"apt-get installed {package} but {binary} is missing")
    return binary
