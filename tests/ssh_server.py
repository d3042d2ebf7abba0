"""A real OpenSSH server for the tests, on loopback, serving SFTP.

One ``sshd`` runs per test session, started on first use (by the
``ssh_server`` fixture, or by :func:`make_sftp_store` from code without
fixtures, such as a Hypothesis state machine) and stopped at exit.  It runs
as an unprivileged user, so it can only let that same user in: as root the
server runs as ``nobody``; otherwise as the current user.  Its host key, the
client's key, ``authorized_keys`` and a ``known_hosts`` naming the server are
made with ``ssh-keygen`` in a temporary directory, and the client checks the
host key against that ``known_hosts``, as a real deployment would.

The tests are skipped, with the reason, when OpenSSH's server is not
installed or does not start (``scripts/test`` installs ``openssh-server``
when it runs as root).
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from typing import Any

import pytest

__all__ = ["SSHServer", "get_ssh_server", "make_sftp_store", "ssh_server"]

SSHD = "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SSHServer:
    """A running ``sshd`` and what a client needs to reach it.

    Attributes
    ----------
    port, username : int, str
        Where to connect, and as whom.
    key_filename, known_hosts : str
        The client's private key, and a ``known_hosts`` file with the
        server's key.
    home : str
        A directory the user owns, where stores put their blobs.
    """

    def __init__(self) -> None:
        sshd = shutil.which("sshd") or (SSHD if os.path.exists(SSHD) else None)
        keygen = shutil.which("ssh-keygen")
        if sshd is None or keygen is None:
            pytest.skip("OpenSSH's server (sshd, ssh-keygen) is not installed")
        self.root = tempfile.mkdtemp(prefix="provenance-sshd-")
        os.chmod(self.root, 0o755)
        run_as: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("nobody")
            run_as = ["runuser", "-u", account.pw_name, "--"]
        else:
            account = pwd.getpwuid(os.geteuid())
        self.username = account.pw_name
        host_key = os.path.join(self.root, "host_key")
        self.key_filename = os.path.join(self.root, "client_key")
        for path in (host_key, self.key_filename):
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-f", path],
                check=True,
                capture_output=True,
            )
        authorized = os.path.join(self.root, "authorized_keys")
        shutil.copyfile(self.key_filename + ".pub", authorized)
        self.home = os.path.join(self.root, "home")
        os.makedirs(self.home)
        self._log = os.path.join(self.root, "sshd.log")
        self._proc = None
        for _ in range(5):  # a free port can be taken before sshd binds it
            self.port = _free_port()
            config = os.path.join(self.root, "sshd_config")
            with open(config, "w") as f:
                f.write(
                    f"Port {self.port}\n"
                    "ListenAddress 127.0.0.1\n"
                    f"HostKey {host_key}\n"
                    f"AuthorizedKeysFile {authorized}\n"
                    "PidFile none\n"
                    "PasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\n"
                    "PubkeyAuthentication yes\n"
                    "UsePAM yes\n"
                    # Files live in a temporary directory, not in a home.
                    "StrictModes no\n"
                    "Subsystem sftp internal-sftp\n"
                    "ForceCommand internal-sftp\n"
                    f"AllowUsers {self.username}\n"
                    "LogLevel ERROR\n"
                )
            for path in (host_key, self.home, authorized, config):
                os.chown(path, account.pw_uid, account.pw_gid)
            with open(self._log, "wb") as log:
                proc = subprocess.Popen(
                    [*run_as, sshd, "-D", "-e", "-f", config], stdout=log, stderr=log
                )
            if self._wait(proc):
                self._proc = proc
                break
            proc.kill()
            proc.wait()
        if self._proc is None:
            with open(self._log) as f:
                log = f.read()[-2000:]
            shutil.rmtree(self.root, ignore_errors=True)
            pytest.skip(f"sshd did not start: {log}")
        with open(host_key + ".pub") as f:
            kind, key = f.read().split()[:2]
        self.known_hosts = os.path.join(self.root, "known_hosts")
        with open(self.known_hosts, "w") as f:
            f.write(f"[127.0.0.1]:{self.port} {kind} {key}\n")

    def _wait(self, proc: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            with socket.socket() as s:
                s.settimeout(1)
                try:
                    s.connect(("127.0.0.1", self.port))
                    if s.recv(4).startswith(b"SSH-"):
                        return True
                except OSError:
                    pass
            time.sleep(0.05)
        return False

    def storage_options(self) -> dict[str, Any]:
        """The fsspec options of a client of this server."""
        return {
            "username": self.username,
            "port": self.port,
            "key_filename": self.key_filename,
            "known_hosts": self.known_hosts,
            "look_for_keys": False,
            "allow_agent": False,
        }

    def new_dir(self) -> str:
        """The path (on the server) of a directory no other test uses; not created."""
        return f"{self.home}/{uuid.uuid4().hex[:16]}"

    def stop(self) -> None:
        """Stop the server and remove its files."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_server: SSHServer | None = None
_lock = threading.Lock()


def get_ssh_server() -> SSHServer:
    """The session's server, started on first call."""
    global _server
    with _lock:
        if _server is None:
            _server = SSHServer()
            atexit.register(_server.stop)
        return _server


def make_sftp_store(**kwargs: Any) -> Any:
    """An fsspec blobstore in a new directory of the session's SFTP server."""
    from provenance.storage.blobstores.fsspec import FsspecStore

    server = get_ssh_server()
    return FsspecStore(f"sftp://127.0.0.1{server.new_dir()}", server.storage_options(), **kwargs)


@pytest.fixture(scope="session")
def ssh_server() -> SSHServer:
    """The OpenSSH server of this test session."""
    return get_ssh_server()
