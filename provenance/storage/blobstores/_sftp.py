"""fsspec's SFTP filesystem with the server's host key checked against known_hosts.

fsspec's :class:`~fsspec.implementations.sftp.SFTPFileSystem` accepts any
host key the first time it meets a server (paramiko's ``AutoAddPolicy``),
which lets a man in the middle pose as the server.  The original library's
SFTP store, like OpenSSH, refused a server whose key was not known.  This
subclass keeps that: it chooses the policy of its paramiko client, and
imports paramiko, so it is imported only when an SFTP store connects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import paramiko
from fsspec.implementations.sftp import SFTPFileSystem
from fsspec.utils import infer_storage_options

from ...errors import ConfigError

__all__ = ["KnownHostsPolicy", "sftp_filesystem"]


class KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """Accept a server only if its key is listed in one of the ``known_hosts`` files."""

    def __init__(self, files: Sequence[str | os.PathLike[str]]) -> None:
        self.files = [os.path.expanduser(os.fspath(f)) for f in files]

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        # ``hostname`` is "[host]:port" for a port other than 22, as in known_hosts.
        known = paramiko.HostKeys()
        for path in self.files:
            if os.path.exists(path):
                known.load(path)
        if known.check(hostname, key):
            return
        raise paramiko.SSHException(
            f"the SSH host key of {hostname} ({key.get_name()}) is not in "
            f"{' or '.join(self.files) or 'any known_hosts file'}; add it (ssh-keyscan, or "
            "connect once with ssh), name the file with 'known_hosts', or accept any key "
            "with 'host_key_policy: auto_add'"
        )


def _policy(name: str, known_hosts: Sequence[str | os.PathLike[str]]) -> Any:
    if name == "auto_add":
        return paramiko.AutoAddPolicy()
    if name == "warning":
        return paramiko.WarningPolicy()
    return KnownHostsPolicy(known_hosts)


class CheckedSFTPFileSystem(SFTPFileSystem):
    """An SFTP filesystem whose paramiko client checks the host key as told."""

    def __init__(
        self, host: str, *, host_keys: tuple[str, tuple[str, ...]], **ssh_kwargs: Any
    ) -> None:
        # Set before the parent connects.
        self._provenance_policy = _policy(*host_keys)
        super().__init__(host, **ssh_kwargs)

    def _connect(self) -> None:
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(self._provenance_policy)
        self.client.connect(self.host, **self.ssh_kwargs)
        self.ftp = self.client.open_sftp()

    # Whole-file reads and writes with paramiko's pipelining: several times
    # faster than fsspec's generic ones, which wait for each 32 KiB request.

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kw: Any
    ) -> Any:
        if start is not None or end is not None:
            return super().cat_file(path, start=start, end=end, **kw)
        with self.ftp.open(self._strip_protocol(path), "rb") as f:
            f.prefetch()
            return f.read()

    def pipe_file(self, path: str, value: bytes, **kwargs: Any) -> None:
        with self.ftp.open(self._strip_protocol(path), "wb") as f:
            f.set_pipelined(True)
            f.write(value)


def sftp_filesystem(
    url: str,
    options: Mapping[str, Any],
    host_key_policy: str,
    known_hosts: Sequence[str | os.PathLike[str]],
) -> tuple[Any, str]:
    """A connected filesystem for ``sftp://[user[:password]@]host[:port]/path``, and the path."""
    parts = infer_storage_options(url)
    path = parts.pop("path")
    parts.pop("protocol", None)
    host = options.get("host", parts.pop("host", None))
    if not host:
        raise ConfigError(f"an SFTP URL needs a host: {url!r}")
    kwargs = {**parts, **{k: v for k, v in options.items() if k != "host"}}
    if "port" in kwargs:
        kwargs["port"] = int(kwargs["port"])
    fs = CheckedSFTPFileSystem(
        host,
        host_keys=(host_key_policy, tuple(os.fspath(f) for f in known_hosts)),
        skip_instance_cache=True,  # one connection per store: close() is the store's
        **kwargs,
    )
    return fs, path
