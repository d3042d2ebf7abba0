"""The fsspec blobstore beyond the shared contract: config types, extras, SFTP specifics.

The contract suite (``test_blobstores.py``) runs on fsspec's local and memory
filesystems and on the SFTP server of ``tests/ssh_server.py``.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from typing import Any

import pytest
from ssh_server import SSHServer, ssh_server  # noqa: F401  (fixture)

import provenance as p
from provenance.errors import ConfigError, MissingDependency
from provenance.repos import Repository
from provenance.storage.blobstores.fsspec import FsspecStore
from provenance.storage.index import SqlIndex
from provenance.storage.specs import build_blobstore

K1 = "ab" * 16


def build(entry: dict[str, Any]) -> Any:
    return build_blobstore("blobstores.x", entry, {})


def test_fsspec_type_takes_any_url_and_shares_the_disk_layout(tmp_path: Any) -> None:
    store = build({"type": "fsspec", "url": f"file://{tmp_path}/blobs", "delete": True})
    assert isinstance(store, FsspecStore) and store.delete_allowed
    store.put(K1, b"v")
    assert (tmp_path / "blobs" / K1[:2] / K1[2:]).read_bytes() == b"v"
    # The spec rebuilds it (worker processes), and a disk store reads the same blobs.
    assert build(store.spec()).get(K1) == b"v"
    assert build({"type": "disk", "cachedir": str(tmp_path / "blobs")}).get(K1) == b"v"


def test_memory_urls_live_only_in_this_process() -> None:
    with pytest.raises(TypeError, match="another process"):
        FsspecStore("memory://only-here").spec()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"type": "fsspec"}, "'blobstores.x.url'"),
        ({"type": "fsspec", "url": "memory://x", "storage_options": [1]}, "storage_options"),
        ({"type": "fsspec", "url": "nosuchproto://x"}, "no protocol 'nosuchproto'"),
        ({"type": "sftp", "basepath": "/srv"}, "ssh_config.hostname"),
        ({"type": "sftp", "basepath": "rel", "ssh_config": {"hostname": "h"}}, "absolute"),
        (
            {"type": "sftp", "basepath": "/s", "ssh_config": {"hostname": "h", "port": "x"}},
            "port",
        ),
        (
            {
                "type": "sftp",
                "basepath": "/s",
                "ssh_config": {"hostname": "h"},
                "host_key_policy": "no",
            },
            "host_key_policy",
        ),
        ({"type": "sftp", "basepath": "/s", "ssh_config": {"hostname": "h"}, "x": 1}, "unknown"),
        ({"type": "gs", "basepath": "p"}, "'blobstores.x.bucket'"),
        ({"type": "fsspec", "url": "memory://x", "cleanup_cachedir": "yes"}, "true or false"),
    ],
)
def test_config_mistakes_name_the_key(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(entry)


def test_sftp_type_maps_the_original_keys_without_connecting(tmp_path: Any) -> None:
    # The original library's sftp entry: cachedir, basepath, ssh_config (paramiko's options).
    store = build(
        {
            "type": "sftp",
            "cachedir": str(tmp_path / "cache"),
            "basepath": "/home/me/artifacts/",
            "ssh_config": {"hostname": "files.example", "port": "2222", "username": "me"},
            "read_through_write": False,
            "on_duplicate_key": "skip",
            "always_check_remote": False,
            "delete": True,
        }
    )
    assert store.url == "sftp://files.example/home/me/artifacts"
    assert store.storage_options == {"port": 2222, "username": "me"}
    assert store.cachedir == str(tmp_path / "cache")
    assert not store.accepts_read_through
    assert store._fs is None  # no connection until the store is used
    spec = store.spec()
    assert spec["type"] == "fsspec" and spec["storage_options"]["host_key_policy"] == "known_hosts"


def test_repr_hides_a_password_in_the_url() -> None:
    store = FsspecStore("sftp://me:secret@files.example/srv")
    assert "secret" not in repr(store) and "me:***@" in repr(store)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.parametrize(
    ("blocked", "entry", "extra"),
    [
        ("paramiko", "{'type': 'sftp', 'basepath': '/s', 'ssh_config': {'hostname': 'h'}}", "sftp"),
        ("fsspec", "{'type': 'sftp', 'basepath': '/s', 'ssh_config': {'hostname': 'h'}}", "sftp"),
        ("gcsfs", "{'type': 'gs', 'bucket': 'b'}", "gs"),
        ("fsspec", "{'type': 'fsspec', 'url': 'memory://x'}", "fsspec"),
    ],
)
def test_a_missing_extra_is_named_when_the_config_is_loaded(
    blocked: str, entry: str, extra: str
) -> None:
    code = (
        "import sys\n"
        f"sys.modules[{blocked!r}] = None  # as if it were not installed\n"
        "import provenance as p\n"
        "from provenance.errors import MissingDependency\n"
        "try:\n"
        f"    p.from_config({{'blobstores': {{'x': {entry}}}, 'artifact_repos': {{}}}})\n"
        "except MissingDependency as exc:\n"
        "    print(exc)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert f"pip install 'provenance[{extra}]'" in out.stdout


def test_importing_provenance_imports_neither_fsspec_nor_paramiko() -> None:
    code = (
        "import sys\n"
        "import provenance\n"
        "from provenance.blobstores import FsspecStore\n"
        "assert 'fsspec' not in sys.modules and 'paramiko' not in sys.modules\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr


def test_missing_dependency_is_an_import_error() -> None:
    assert issubclass(MissingDependency, ImportError)


def test_cleanup_cachedir_removes_the_cache_with_the_store(tmp_path: Any) -> None:
    cache = tmp_path / "cache"
    store = FsspecStore(f"memory://{tmp_path}/c", cachedir=cache, cleanup_cachedir=True)
    store.put(K1, b"v")
    assert store.get(K1) == b"v" and store.local_path(K1) is not None
    del store
    gc.collect()
    assert not cache.exists()


# -- a real SFTP server --------------------------------------------------------


def _sftp_entry(server: SSHServer, **extra: Any) -> dict[str, Any]:
    options = server.storage_options()
    known_hosts = options.pop("known_hosts")
    return {
        "type": "sftp",
        "basepath": server.new_dir(),
        "ssh_config": {"hostname": "127.0.0.1", **options},
        "known_hosts": known_hosts,
        "delete": True,
        **extra,
    }


@pytest.mark.sftp
def test_sftp_store_from_the_original_config_with_a_local_cache(
    ssh_server: SSHServer,  # noqa: F811
    tmp_path: Any,
) -> None:
    store = build(_sftp_entry(ssh_server, cachedir=str(tmp_path / "cache")))
    store.put(K1, b"remote")
    assert store.local_path(K1) is None  # written, not yet read here
    assert store.get(K1) == b"remote"
    cached = store.local_path(K1)
    assert cached is not None
    with open(cached, "rb") as f:
        assert f.read() == b"remote"
    with store.open_local(K1) as path:
        assert path == cached
    # The blob is on the server, in the disk store's layout.
    basepath = store.url.removeprefix("sftp://127.0.0.1")
    with open(f"{basepath}/{K1[:2]}/{K1[2:]}", "rb") as f:
        assert f.read() == b"remote"
    store.delete(K1)
    assert store.local_path(K1) is None and not store.exists(K1)
    store.close()


@pytest.mark.sftp
def test_sftp_refuses_a_server_whose_key_is_not_known(
    ssh_server: SSHServer,  # noqa: F811
    tmp_path: Any,
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    store = build(_sftp_entry(ssh_server, known_hosts=str(empty)))
    with pytest.raises(Exception, match="not in .*known_hosts.*host_key_policy: auto_add"):
        store.exists(K1)
    trusting = build(_sftp_entry(ssh_server, known_hosts=str(empty), host_key_policy="auto_add"))
    assert not trusting.exists(K1)
    trusting.close()


@pytest.mark.sftp
def test_repo_round_trip_through_the_decorator_on_sftp(
    ssh_server: SSHServer,  # noqa: F811
    tmp_path: Any,
) -> None:
    store = build(_sftp_entry(ssh_server))
    repo = Repository(SqlIndex(f"sqlite:///{tmp_path / 'index.db'}"), store, name="sftp")
    p.set_default_repo(repo)
    calls = []

    @p.provenance()
    def make(n: int) -> bytes:
        calls.append(n)
        return bytes(range(256)) * n  # over the inline limit: stored as a blob

    first = make(100)
    again = make(100)
    assert calls == [100] and bytes(again) == bytes(first)
    assert first.artifact.blob_id in set(store.keys())
    assert bytes(p.load_proxy(first.artifact.id)) == bytes(first)
    store.close()
