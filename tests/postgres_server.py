"""A PostgreSQL server for the tests: the one configured, the local one, or a throwaway one.

Order of choice: ``OTASTATS_TEST_POSTGRES_URL`` (a URL of a role that may create databases); a
server answering on 127.0.0.1:5432 as user ``postgres``; a server started with ``initdb`` and
``pg_ctl`` in a temporary directory on a free port (stopped at the end). Each test run creates a
database of its own and drops it at the end; each store gets a schema of its own in it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import quote

import psycopg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class Unavailable(Exception):
    """No PostgreSQL server can be used; the message says why."""


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _throwaway_server() -> Iterator[str]:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise Unavailable(
            "no PostgreSQL server: OTASTATS_TEST_POSTGRES_URL is unset, nothing answers on"
            " 127.0.0.1:5432, and initdb/pg_ctl are not on PATH to start one"
        )
    as_user: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the server as the system's postgres user.
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if owner is None or runuser is None:
            raise Unavailable(
                "no PostgreSQL server: nothing answers on 127.0.0.1:5432, initdb refuses to run"
                " as root, and there is no 'postgres' user to run it as; set"
                " OTASTATS_TEST_POSTGRES_URL"
            )
        as_user = [runuser, "-u", "postgres", "--"]
    with tempfile.TemporaryDirectory(prefix="otastats-pg-") as directory:
        if owner is not None:
            os.chown(directory, owner.pw_uid, owner.pw_gid)
        data = os.path.join(directory, "data")
        subprocess.run(
            [
                *as_user,
                *(initdb, "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"),
            ],
            check=True,
            capture_output=True,
        )
        port = _free_port()
        options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *as_user,
                pg_ctl,
                "-D",
                data,
                "-o",
                options,
                "-l",
                os.path.join(directory, "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"],
                check=False,
                capture_output=True,
            )


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    """A URL of a role that may create databases, for the whole test run."""
    configured = os.environ.get("OTASTATS_TEST_POSTGRES_URL")
    if configured:
        if not _answers(configured):
            raise Unavailable(f"OTASTATS_TEST_POSTGRES_URL={configured!r} does not answer")
        yield configured
    elif _answers(LOCAL_URL):
        yield LOCAL_URL
    else:
        with _throwaway_server() as url:
            yield url


def with_database(url: str, database: str) -> str:
    head, _, _ = url.partition("?")
    base = head.rsplit("/", 1)[0]
    query = url.partition("?")[2]
    return f"{base}/{database}" + (f"?{query}" if query else "")


def with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextlib.contextmanager
def test_database(admin_url: str) -> Iterator[Callable[[], str]]:
    """A database of this test run; yields a factory of URLs, each to a fresh schema in it."""
    name = f"otastats_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin_url, name)
    counter = itertools.count(1)

    def fresh_schema() -> str:
        schema = f"t{next(counter)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return with_schema(url, schema)

    try:
        yield fresh_schema
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
