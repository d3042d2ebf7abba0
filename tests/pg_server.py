"""A throwaway PostgreSQL server for the tests, on loopback.

The cluster lives in a temporary directory and is started once per test run.
``initdb`` refuses to run as root, so as root the cluster is created and run
as the unprivileged ``postgres`` user (or ``nobody``).  Each test gets a
database of its own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator

import pytest


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One running cluster; :meth:`new_database` hands out empty databases."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed")
        self.pg_ctl = pg_ctl
        self.root = tempfile.mkdtemp(prefix="provenance-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = _free_port()
        self.user = "provenance"
        self._as: list[str] = []
        if os.geteuid() == 0:
            account = "postgres"
            try:
                pwd.getpwnam(account)
            except KeyError:
                account = "nobody"
            owner = pwd.getpwnam(account)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", account, "--"]
        self._run(
            [initdb, "-D", self.data, "-U", self.user, "-A", "trust", "--no-sync", "-E", "UTF8"]
        )
        self._start()

    def _start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        self._run(
            [self.pg_ctl, "-D", self.data, "-o", options, "-l", os.path.join(self.root, "log"),
             "-w", "start"]
        )  # fmt: skip

    def pause(self) -> None:
        """Stop the server, keeping its data: an outage, until :meth:`resume`."""
        self._run([self.pg_ctl, "-D", self.data, "-m", "fast", "-w", "stop"])

    def resume(self) -> None:
        """Start the server again after :meth:`pause` (same port, same databases)."""
        self._start()

    def _run(self, cmd: list[str]) -> None:
        subprocess.run(self._as + cmd, check=True, capture_output=True, cwd=self.root)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a database that does not exist yet (``create_db`` makes it)."""
        return self.url(f"t_{uuid.uuid4().hex[:16]}")

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", self.data, "-m", "immediate", "-w", "stop"])
        finally:
            time.sleep(0.1)
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh PostgreSQL database URL for one test."""
    return postgres_server.new_database()
