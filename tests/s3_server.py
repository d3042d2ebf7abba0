"""A real S3-protocol server for the tests: moto in server mode on 127.0.0.1.

One server runs per test session, in its own process, started on first use
(by the ``s3_server`` fixture, or by :func:`make_s3_store` from code that has
no fixtures, such as a Hypothesis state machine) and stopped at exit.  Tests
reach it over HTTP through boto3, exactly as they would reach AWS: nothing is
mocked in the test process.  Each test gets buckets of its own.

Use from a test module::

    from s3_server import s3_bucket, s3_server  # noqa: F401  (fixtures)
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["S3Server", "get_server", "make_s3_store", "s3_bucket", "s3_server"]

# Any credentials work with moto; fixed ones keep a developer's real AWS
# profile out of the tests.
TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Server:
    """A running moto server.

    Attributes
    ----------
    endpoint_url : str
        ``http://127.0.0.1:<port>``.
    """

    def __init__(self) -> None:
        # Kept open for the server's lifetime: its output, for a failed start.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._proc, self.endpoint_url = self._start()
        self._client: Any = None

    def _start(self) -> tuple[subprocess.Popen[bytes], str]:
        # A free port can be taken between our check and moto's bind: try again.
        for _ in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(url + "/moto-api/", timeout=2):
                        return proc, url
                except OSError:
                    time.sleep(0.05)
            proc.kill()
            proc.wait()
        self._log.seek(0)
        raise RuntimeError(f"the moto server did not start:\n{self._log.read().decode()[-2000:]}")

    @property
    def client(self) -> Any:
        """A boto3 client of this server, for setting up and inspecting tests."""
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client("s3", endpoint_url=self.endpoint_url)
        return self._client

    def new_bucket(self) -> str:
        """Create a bucket with a name no other test uses, and return the name."""
        name = f"test-{uuid.uuid4().hex[:16]}"
        self.client.create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        """Stop the server process."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()


_server: S3Server | None = None
_lock = threading.Lock()


def get_server() -> S3Server:
    """The session's server, started (and the AWS environment set) on first call."""
    global _server
    with _lock:
        if _server is None:
            os.environ.update(TEST_ENV)
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
                os.environ.pop(name, None)
            # A proxy configured for the outside world must not see 127.0.0.1.
            for name in ("NO_PROXY", "no_proxy"):
                os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1"]))
            _server = S3Server()
            atexit.register(_server.stop)
        return _server


def make_s3_store(**kwargs: Any) -> Any:
    """An S3 blobstore in a new bucket of the session's server.

    Keyword arguments go to :class:`~provenance.storage.blobstores.s3.S3Store`
    (flags such as ``delete=True``, or ``cachedir``).
    """
    from provenance.storage.blobstores.s3 import S3Store

    server = get_server()
    kwargs.setdefault("prefix", "blobs")
    return S3Store(bucket=server.new_bucket(), endpoint_url=server.endpoint_url, **kwargs)


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    """The moto server of this test session."""
    return get_server()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Iterator[str]:
    """A new, empty bucket of the session's server."""
    name = s3_server.new_bucket()
    yield name
    # Free the server's memory: moto keeps every object of the session.
    with contextlib.suppress(Exception):
        objects = s3_server.client.list_objects_v2(Bucket=name).get("Contents", [])
        if objects:
            s3_server.client.delete_objects(
                Bucket=name, Delete={"Objects": [{"Key": o["Key"]} for o in objects]}
            )
