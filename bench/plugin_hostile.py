"""Hostile requests to the plugin URLs of a real `otastats serve`, for this checkout and, with
``--before-src DIR``, for another source tree in the same run (PYTHONPATH=DIR):

    git archive main src | tar -x -C /tmp/otastats-main
    .venv/bin/python bench/plugin_hostile.py --before-src /tmp/otastats-main/src

Each case is sent on a connection of its own; the table gives the status, the time to the
answer (median of ``--repeat``) and whether the server closed the connection after it, and the
server's peak memory after all the cases.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from host import free_port, otastats_command, proc_status

APP = "com.bench.hostile"
MIB = 1024 * 1024


def event(**extra: object) -> dict[str, object]:
    return {"app_id": APP, "device_id": "d-1", "action": "set", "version_name": "1.0", **extra}


def cases() -> list[tuple[str, str, bytes, int | None]]:
    """(name, which token, body, declared length when the body is not sent)."""
    deep: Any = 1
    for _ in range(10):
        deep = [deep]
    return [
        ("unknown token, 1 MiB declared, body not sent", "unknown", b"", MIB),
        ("valid token, 1 MiB + 1 declared, body not sent", "valid", b"", MIB + 1),
        (
            "one event whose unknown field nests 11 levels",
            "valid",
            json.dumps([event(extra=deep)], separators=(",", ":")).encode(),
            None,
        ),
        (
            "one event holding 200,000 empty objects (0.6 MiB)",
            "valid",
            json.dumps([event(extra=[{}] * 200_000)], separators=(",", ":")).encode(),
            None,
        ),
        (
            "one event holding 450,000 numbers (0.9 MiB)",
            "valid",
            json.dumps([event(extra=[1] * 450_000)], separators=(",", ":")).encode(),
            None,
        ),
    ]


def cli(database: str, workdir: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [otastats_command(), *args, "--database", database, "--json"],
        capture_output=True,
        check=True,
        cwd=workdir,
        env=env,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def send(port: int, path: str, body: bytes, declared: int | None) -> tuple[int, float, bool]:
    """(status, seconds to the answer's end, whether the server closed the connection)."""
    length = len(body) if declared is None else declared
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        started = time.perf_counter()
        sock.sendall(head + body)
        received = b""
        closed = False
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            received += chunk
            head_part, sep, rest = received.partition(b"\r\n\r\n")
            if sep:
                fields = dict(
                    line.split(b": ", 1) for line in head_part.split(b"\r\n")[1:] if b": " in line
                )
                size = int(fields.get(b"content-length", b"0"))
                if len(rest) >= size:
                    elapsed = time.perf_counter() - started
                    sock.settimeout(3)
                    try:
                        closed = sock.recv(1) == b""
                    except TimeoutError:
                        closed = False
                    return int(received.split(b" ", 2)[1]), elapsed, closed
        return int(received.split(b" ", 2)[1]), time.perf_counter() - started, closed


def measure(source: Path | None, repeat: int) -> tuple[list[tuple[int, float, bool]], float]:
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        database = f"sqlite:///{workdir / 'hostile.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTASTATS_")}
        env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
        if source is not None:
            env["PYTHONPATH"] = str(source)
        org = cli(database, workdir, env, "org", "create", "--name", "hostile")
        cli(database, workdir, env, "app", "create", APP, "--org", org["org_id"])
        made = cli(database, workdir, env, "plugin", "create", APP)
        valid = "/plugin/" + made["stats_url"].split("/plugin/", 1)[1]
        paths = {"valid": valid, "unknown": "/plugin/otp_" + "A" * 43 + "/stats"}
        port = free_port()
        server = subprocess.Popen(
            [otastats_command(), "serve", "--port", str(port), "--database", database],
            cwd=workdir,
            env={**env, "OTASTATS_PLUGIN_RATE_LIMIT": "0"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            rows = []
            for _, which, body, declared in cases():
                runs = [send(port, paths[which], body, declared) for _ in range(repeat)]
                rows.append(
                    (runs[0][0], statistics.median(r[1] for r in runs), all(r[2] for r in runs))
                )
            peak = (proc_status(server.pid, "VmHWM") or 0) / MIB
            return rows, peak
        finally:
            server.terminate()
            server.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-src", type=Path, help="src directory of the baseline")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    after, after_peak = measure(None, args.repeat)
    before = before_peak = None
    if args.before_src is not None:
        before, before_peak = measure(args.before_src.resolve(), args.repeat)
    print(f"load average (1 min) at the start {load:.2f}; median of {args.repeat}\n")
    print("| request to the statsUrl | before | after |")
    print("|---|---|---|")

    def cell(row: tuple[int, float, bool]) -> str:
        status, seconds, closed = row
        return f"{status} in {seconds * 1000:.1f} ms" + (", connection closed" if closed else "")

    for index, (name, _, _, _) in enumerate(cases()):
        old = cell(before[index]) if before else "-"
        print(f"| {name} | {old} | {cell(after[index])} |")
    print(f"| server peak memory after all | {before_peak or 0:.0f} MiB | {after_peak:.0f} MiB |")


if __name__ == "__main__":
    main()
