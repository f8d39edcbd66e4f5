"""What the benchmarks share: the machine's facts, process figures from /proc, the command."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import socket
import sqlite3
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any


def otastats_command() -> str:
    """The console script beside the running Python (the project's virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "otastats"
    if beside.exists():
        return str(beside)
    found = shutil.which("otastats")
    if found is None:
        raise SystemExit("the otastats console script is not installed; use .venv/bin/python")
    return found


def machine_facts() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
                break
    try:
        version = metadata.version("otastats")
    except metadata.PackageNotFoundError:
        version = "?"
    return {
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "otastats": version,
        "platform": platform.platform(),
    }


def quantile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank quantile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process so far."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int, name: str) -> int | None:
    """A ``kB`` figure of ``/proc/PID/status`` (VmRSS, VmHWM), in bytes."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
