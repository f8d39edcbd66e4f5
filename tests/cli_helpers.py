"""Running the real ``otastats`` command in a subprocess, and the real server on a free port."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from otastats.app import create_app
from otastats.config import Settings
from otastats.storage.sqlite import SQLiteStore

OTASTATS = [sys.executable, "-m", "otastats"]
"""The real command line, run by the interpreter of the test run (the project's venv)."""

COMMAND_TIMEOUT = 60
SERVER_START_TIMEOUT = 20.0


def db_url(path: Path) -> str:
    """``sqlite:////abs/path.db``: an absolute path needs four slashes."""
    return "sqlite:///" + str(path.resolve())


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without any OTASTATS_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTASTATS_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def data(self) -> dict[str, Any]:
        """stdout as exactly one JSON object on one line (asserts that it is)."""
        return one_json_object(self.stdout)


def one_json_object(stdout: str) -> dict[str, Any]:
    """Parse stdout, insisting that it is one JSON object on a single line and nothing else."""
    assert stdout.endswith("\n"), f"stdout does not end with a newline: {stdout!r}"
    assert stdout.count("\n") == 1, f"stdout is not exactly one line: {stdout!r}"
    value = json.loads(stdout)
    assert isinstance(value, dict), f"stdout is not a JSON object: {stdout!r}"
    return value


def run_cli(
    *args: str,
    database: str | None,
    cwd: Path,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    json_flag: bool = True,
) -> CliResult:
    """``otastats ARGS [--database URL] [--json]``, with stdin, stdout and stderr not terminals."""
    argv = [*OTASTATS, *args]
    if database is not None:
        argv += ["--database", database]
    if json_flag:
        argv.append("--json")
    proc = subprocess.run(
        argv,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=clean_env(env),
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def ok(result: CliResult) -> dict[str, Any]:
    """The JSON object of a command that must succeed."""
    assert result.code == 0, f"exit {result.code}: {result.stdout!r} {result.stderr!r}"
    return result.data


def failed(result: CliResult) -> str:
    """The error message of a command that must fail with exit 1 and ``{"error": ...}``."""
    assert result.code == 1, f"exit {result.code}: {result.stdout!r} {result.stderr!r}"
    data = result.data
    assert set(data) == {"error"}, data
    assert isinstance(data["error"], str)
    assert data["error"].strip()
    return data["error"]


# --- the in-process app on the same database file ------------------------------------------------


NOW = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
"""The service's "now" in these tests, whatever the date they run on: the clock of
``http_client``, and of a server or ``otastats demo`` given ``OTASTATS_FAKE_NOW`` (``FAKE_NOW``).
A 29 February: the last 30 days cross the end of a month of 29 days."""
FAKE_NOW = {"OTASTATS_FAKE_NOW": NOW.isoformat()}


@contextmanager
def http_client(db_path: Path) -> Iterator[TestClient]:
    """The real HTTP application (its clock at ``NOW``, no rate limits) over the CLI's database."""
    store = SQLiteStore(str(db_path))
    try:
        settings = Settings(database_url=db_url(db_path), rate_limit=0, auth_failure_limit=0)
        with TestClient(create_app(settings, store=store, clock=lambda: NOW)) as client:
            yield client
    finally:
        store.close()


def today() -> date:
    """The service's today in these tests: the day of ``NOW``."""
    return NOW.date()


def last_days(count: int) -> tuple[str, str]:
    """(from, to) of the ``count`` days that end on the service's today (``NOW``), UTC."""
    end = today()
    return (end - timedelta(days=count - 1)).isoformat(), end.isoformat()


# --- the real server ---------------------------------------------------------------------------


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    """(status, decoded JSON body) of a GET, error statuses included."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with closing(exc):
            return exc.code, json.loads(exc.read())


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    stdout_path: Path
    stderr_path: Path

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def first_stdout_line(self) -> str:
        return self.stdout().split("\n", 1)[0]


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"the server exited with {server.process.returncode}:"
                f" {server.stdout()!r} {server.stderr_path.read_text()!r}"
            )
        try:
            status, body = http_get(server.base + "/healthz")
        except (OSError, ValueError) as exc:
            last_error = exc
        else:
            if status == 200:
                assert body == {"status": "ok"}
                return
        time.sleep(0.1)
    raise AssertionError(
        f"the server did not answer /healthz in {SERVER_START_TIMEOUT} s ({last_error!r}):"
        f" {server.stderr_path.read_text()!r}"
    )


@contextmanager
def serve(
    *args: str,
    database: str,
    workdir: Path,
    name: str = "server",
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """``otastats serve --port P ARGS --database URL`` until /healthz answers; always stopped.

    ``env``: OTASTATS_* settings of the server (it sees none of the test process's)."""
    port = free_port()
    stdout_path = workdir / f"{name}.stdout"
    stderr_path = workdir / f"{name}.stderr"
    argv = [
        *OTASTATS,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
        "--database",
        database,
    ]
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=workdir,
            env=clean_env(env),
        )
    server = Server(process, f"http://127.0.0.1:{port}", stdout_path, stderr_path)
    try:
        _wait_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def request_from_curl(curl: str) -> tuple[str, dict[str, str]]:
    """The URL and headers of a ``curl [-s] -H 'name: value'... 'URL'`` command line."""
    words = shlex.split(curl)
    assert words[0] == "curl", curl
    headers: dict[str, str] = {}
    urls: list[str] = []
    rest = iter(words[1:])
    for word in rest:
        if word in ("-H", "--header"):
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif word.startswith("-"):
            continue
        else:
            urls.append(word)
    assert len(urls) == 1, curl
    return urls[0], headers
