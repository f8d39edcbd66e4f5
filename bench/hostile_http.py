"""Hostile HTTP input against a real ``otastats serve``: what each attack costs the server and
the other clients, for this checkout and, with ``--before-src``, for another source tree (the
baseline, run in the same way in the same run).

    .venv/bin/python bench/hostile_http.py --before-src /tmp/otastats-before/src

``--before-src DIR``: the ``src`` directory of another checkout (for example one exported with
``git archive <commit> src | tar -x -C /tmp/otastats-before``), run with this virtualenv's
Python and ``PYTHONPATH=DIR``. ``--json-out FILE`` also writes the figures as JSON.

Every attack is bounded: an attack that the server does not cut off is cut off by the bench
after ``CAP`` seconds, and shown as such. The servers run with header and body timeouts of 5 s
(``OTASTATS_HEADER_TIMEOUT_MS``, ``OTASTATS_BODY_TIMEOUT_MS``), so that the run stays short;
a server that does not know these settings ignores them. Peak memory is VmHWM of the server
process, each memory attack on a server of its own. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from host import free_port, proc_status

CAP = 8.0
TIMEOUT_MS = 5000
APPS = 2000
MIB = 1024 * 1024


def setup(database: Path, apps: int) -> dict[str, str]:
    """An organization with ``apps`` apps and a read and an ``all`` key (written by this
    checkout's code: the schema is the same before and after)."""
    from otastats.admin import service as admin
    from otastats.storage.sqlite import SQLiteStore

    store = SQLiteStore(str(database))
    try:
        now = int(time.time() * 1_000_000)
        org_id = admin.create_org(store, "Acme", now)
        user_id = admin.create_user(store, "owner@example.com", now)
        admin.add_member(store, org_id, user_id, "admin")
        for index in range(apps):
            admin.create_app(store, f"com.example.app{index:04d}", org_id, now)
        return {
            "org": org_id,
            "read": admin.create_key(store, user_id, "read", now).key,
            "write": admin.create_key(store, user_id, "all", now).key,
        }
    finally:
        store.close()


class Server:
    def __init__(
        self,
        workdir: Path,
        source: Path | None,
        apps: int = 1,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        database = workdir / f"otastats-{time.monotonic_ns()}.db"
        self.keys = setup(database, apps)
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTASTATS_")}
        env.update(
            OTASTATS_RATE_LIMIT="0",
            OTASTATS_AUTH_FAILURE_LIMIT="0",
            OTASTATS_HEADER_TIMEOUT_MS=str(TIMEOUT_MS),
            OTASTATS_BODY_TIMEOUT_MS=str(TIMEOUT_MS),
            PYTHONPYCACHEPREFIX=str(workdir / "pycache"),
        )
        env.update(extra_env or {})
        if source is not None:
            env["PYTHONPATH"] = str(source)
        self.stderr = workdir / f"server-{self.port}.stderr"
        argv = [sys.executable, "-m", "otastats", "serve", "--port", str(self.port)]
        with self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [*argv, "--database", "sqlite:///" + str(database)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                self.get("/healthz")
                return
            time.sleep(0.1)
        raise SystemExit(f"the server did not start: {self.stderr.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)

    def peak(self) -> float:
        return (proc_status(self.process.pid, "VmHWM") or 0) / MIB

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=CAP)

    def get(self, path: str, key: str | None = None) -> tuple[int, int, float]:
        """(status, body bytes, seconds) of a GET."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            started = time.perf_counter()
            connection.request("GET", path, headers={"authorization": key} if key else {})
            response = connection.getresponse()
            size = 0
            while chunk := response.read(MIB):
                size += len(chunk)
            return response.status, size, time.perf_counter() - started
        finally:
            connection.close()

    def post(self, body: bytes, key: str, content_type: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            headers = {"authorization": key, "content-type": content_type}
            connection.request("POST", "/ingest/events", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


def first_answer(sock: socket.socket) -> tuple[str, float]:
    """The status line of the first answer, or what happened instead, and the seconds taken."""
    started = time.perf_counter()
    try:
        data = sock.recv(4096)
    except TimeoutError:
        return "no answer", time.perf_counter() - started
    except OSError as exc:
        return type(exc).__name__, time.perf_counter() - started
    status = data.split(b"\r\n", 1)[0].decode(errors="replace")[9:12] if data else "closed"
    return status, time.perf_counter() - started


def healthz_worst_while(server: Server, attacks: list[Callable[[], None]]) -> float:
    """The slowest /healthz, probed every 20 ms, while ``attacks`` run (in threads)."""
    threads = [threading.Thread(target=attack) for attack in attacks]
    for thread in threads:
        thread.start()
    worst = 0.0
    while any(thread.is_alive() for thread in threads):
        worst = max(worst, server.get("/healthz")[2])
        time.sleep(0.02)
    return worst


def flood(server: Server) -> tuple[str, float]:
    fields = b"".join(b"X-Flood-%d: %s\r\n" % (index, b"x" * 20) for index in range(20_000))
    with server.connect() as sock:
        started = time.perf_counter()
        with contextlib.suppress(OSError):
            sock.sendall(b"GET /me HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\n")
        status, _ = first_answer(sock)
        return status, time.perf_counter() - started


def upload_headers(key: str, length: int) -> bytes:
    return (
        b"POST /ingest/events HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
        b"Authorization: %s\r\nContent-Length: %d\r\n\r\n" % (key.encode(), length)
    )


def header_floods(server: Server) -> dict[str, str]:
    figures: dict[str, str] = {}
    status, seconds = flood(server)
    figures["one request of 20,000 headers (614 KiB) to /me"] = f"{status} in {seconds:.3f} s"
    worst = healthz_worst_while(server, [lambda: flood(server) and None] * 3)
    figures["three such at once: slowest /healthz"] = f"{worst * 1000:.0f} ms"
    return figures


def body_and_slow_attacks(server: Server) -> dict[str, str]:
    figures: dict[str, str] = {}
    for name, key in (("read key", server.keys["read"]), ("unknown key", "ota_unknown")):
        with server.connect() as sock:
            sock.sendall(upload_headers(key, 10 * MIB))
            status, seconds = first_answer(sock)
        figures[f"{name}, 10 MiB declared, headers only"] = f"{status} in {seconds:.3f} s"

    blank = b"\n" * (10 * MIB - 1)
    worst = healthz_worst_while(
        server, [lambda: server.post(blank, server.keys["write"], "application/x-ndjson") and None]
    )
    figures["10 MiB of blank NDJSON lines: slowest /healthz"] = f"{worst * 1000:.0f} ms"

    with server.connect() as sock:
        sock.sendall(upload_headers(server.keys["write"], 1000) + b"[{")
        status, seconds = first_answer(sock)
    figures["content-length 1,000, 2 bytes sent"] = f"{status} after {seconds:.1f} s"

    slow = [server.connect() for _ in range(50)]
    started = time.monotonic()
    request = b"GET /healthz HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"z" * 100
    position = 0
    while time.monotonic() - started < CAP:
        for sock in slow:
            with contextlib.suppress(OSError):
                sock.send(request[position : position + 1])
        position = (position + 1) % len(request)
        time.sleep(0.5)
    still_open = 0
    for sock in slow:
        sock.settimeout(0.2)
        with contextlib.suppress(OSError):
            try:
                sock.recv(4096)  # an answer (408) or the end: cut off
            except TimeoutError:
                still_open += 1
        sock.close()
    figures[f"50 headers sent a byte every 0.5 s: open after {CAP:g} s"] = f"{still_open} of 50"

    with server.connect() as sock:
        sock.sendall(upload_headers(server.keys["write"], 1000) + b"[")
        time.sleep(0.3)
    time.sleep(0.5)
    log = server.stderr.read_text()
    traced = "Traceback" in log or "internal error" in log
    figures["client gone mid-body: logged as"] = "error + traceback" if traced else "one INFO line"
    return figures


def wide_json(workdir: Path, source: Path | None) -> dict[str, str]:
    server = Server(workdir, source)
    try:
        body = b'[{"type": "download", "x": [' + b",".join([b"{}"] * 3_400_000) + b"]}]"
        base = server.peak()
        status = server.post(body, server.keys["write"], "application/json")
        one = server.peak()
        posts = [lambda: server.post(body, server.keys["write"], "application/json") and None] * 8
        started = time.perf_counter()
        worst = healthz_worst_while(server, posts)
        return {
            "10 MiB array, one event of 3.4 million {}: answer": str(status),
            "  peak memory, idle -> one -> eight at once": (
                f"{base:.0f} -> {one:.0f} -> {server.peak():.0f} MB"
            ),
            "  eight at once: slowest /healthz, whole run": (
                f"{worst * 1000:.0f} ms, {time.perf_counter() - started:.1f} s"
            ),
        }
    finally:
        server.stop()


def big_answer(workdir: Path, source: Path | None) -> dict[str, str]:
    server = Server(workdir, source, apps=APPS)
    try:
        base = server.peak()
        path = f"/statistics/org/{server.keys['org']}/?from=2023-01-01&to=2025-12-31"
        status, size, seconds = server.get(path + "&breakdown=true", server.keys["read"])
        csv = server.get(path + "&breakdown=true&format=csv", server.keys["read"])
        return {
            f"org of {APPS:,} apps, breakdown over 1,096 days (JSON)": (
                f"{status}, {size / 1e6:.1f} MB in {seconds:.2f} s"
            ),
            "  the same as CSV": f"{csv[0]}, {csv[1] / 1e6:.1f} MB in {csv[2]:.2f} s",
            "  peak memory, idle -> after both": f"{base:.0f} -> {server.peak():.0f} MB",
        }
    finally:
        server.stop()


def without_header_limits(workdir: Path, source: Path | None) -> dict[str, str]:
    """The header flood with the header limits turned off: what reading the key costs."""
    off = {"OTASTATS_MAX_HEADER_COUNT": "0", "OTASTATS_MAX_HEADER_BYTES": "0"}
    server = Server(workdir, source, extra_env=off)
    try:
        status, seconds = flood(server)
        return {"the same, header limits turned off (0)": f"{status} in {seconds:.3f} s"}
    finally:
        server.stop()


def on_own_server(
    workdir: Path, source: Path | None, attacks: Callable[[Server], dict[str, str]]
) -> dict[str, str]:
    """``attacks`` on a server of their own: a server still busy with an attack the bench
    gave up on would slow the next ones."""
    server = Server(workdir, source)
    try:
        return attacks(server)
    finally:
        server.stop()


def run_build(workdir: Path, source: Path | None) -> dict[str, str]:
    floods = on_own_server(workdir, source, header_floods)
    figures = {
        **dict(list(floods.items())[:1]),
        **without_header_limits(workdir, source),
        **dict(list(floods.items())[1:]),
        **on_own_server(workdir, source, body_and_slow_attacks),
    }
    figures.update(wide_json(workdir, source))
    figures.update(big_answer(workdir, source))
    return figures


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="otastats-hostile-") as name:
        yield Path(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-src", type=Path, help="src directory of the baseline")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    builds: dict[str, dict[str, str]] = {}
    with scratch() as workdir:
        if args.before_src is not None:
            builds["before"] = run_build(workdir, args.before_src.resolve())
        builds["this checkout"] = run_build(workdir, None)
    names = list(next(iter(builds.values())))
    width = max(len(name) for name in names)
    print(f"{'attack':<{width}} | " + " | ".join(builds))
    for name in names:
        print(f"{name:<{width}} | " + " | ".join(figures[name] for figures in builds.values()))
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(builds, indent=2) + "\n")


if __name__ == "__main__":
    main()
