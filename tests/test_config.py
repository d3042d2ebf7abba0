"""Configuration: the original library's format, defaults, errors naming keys, threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest
from conftest import MEMORY_CONFIG, sqlite_config

import provenance as p


@p.provenance()
def ident(x: int) -> int:
    return x


def test_default_repo_lives_under_provenance_home(tmp_path: Any) -> None:
    ident(1)
    home = tmp_path / "home"
    assert (home / "provenance.db").exists()
    assert any((home / "blobs").iterdir())


def test_default_home_is_dot_provenance_in_cwd(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("PROVENANCE_HOME")
    ident(2)
    assert (tmp_path / ".provenance" / "provenance.db").exists()


def test_load_config_and_current_config(tmp_path: Any) -> None:
    cfg = p.load_config(sqlite_config(str(tmp_path / "r")))
    assert p.current_config() is cfg
    assert cfg.default_repo == "local"
    assert p.get_default_repo() is cfg.repos["local"]
    assert isinstance(cfg.blobstores["disk"], p.DiskStore)


def test_yaml_config(tmp_path: Any) -> None:
    path = tmp_path / "provenance.yaml"
    path.write_text(
        f"""
blobstores:
  disk:
    type: disk
    cachedir: {tmp_path / "blobs"}
artifact_repos:
  local:
    type: sqlite
    db: {tmp_path / "index.db"}
    store: disk
  proto_child:
    prototype: local
    db: sqlite:///{tmp_path / "other.db"}
default_repo: local
"""
    )
    cfg = p.load_yaml_config(path)
    assert set(cfg.repos) == {"local", "proto_child"}
    assert ident(5) == 5
    assert (tmp_path / "index.db").exists()
    assert cfg.repos["proto_child"].blobstore is cfg.blobstores["disk"]


def test_yaml_is_loaded_safely(tmp_path: Any) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(p.ConfigError):
        p.load_yaml_config(path)


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["artifact_repos"]["local"].pop("store"), "artifact_repos.local.store"),
        (lambda c: c["artifact_repos"]["local"].update(store="nope"), "artifact_repos.local.store"),
        (lambda c: c["artifact_repos"]["local"].update(type="oracle"), "artifact_repos.local.type"),
        (lambda c: c["artifact_repos"]["local"].pop("type"), "artifact_repos.local.type"),
        (
            lambda c: c["artifact_repos"]["local"].update(colour="red"),
            "artifact_repos.local.colour",
        ),
        (lambda c: c["artifact_repos"]["local"].update(write="yes"), "artifact_repos.local.write"),
        (lambda c: c["artifact_repos"]["local"].pop("db"), "artifact_repos.local.db"),
        (lambda c: c["blobstores"]["disk"].pop("cachedir"), "blobstores.disk.cachedir"),
        (lambda c: c["blobstores"]["disk"].update(type="floppy"), "blobstores.disk.type"),
        (lambda c: c.update(default_repo="missing"), "default_repo"),
        (lambda c: c.update(extra=1), "extra"),
        (lambda c: c["artifact_repos"]["local"].update(prototype="ghost"), "prototype"),
        (
            lambda c: c["blobstores"]["disk"].update(on_duplicate_key="ignore"),
            "blobstores.disk.on_duplicate_key",
        ),
        (
            lambda c: c["artifact_repos"]["local"].update(read_through_write="no"),
            "artifact_repos.local.read_through_write",
        ),
    ],
)
def test_config_errors_name_the_key(tmp_path: Any, mutate: Any, key: str) -> None:
    cfg = sqlite_config(str(tmp_path / "r"))
    mutate(cfg)
    with pytest.raises(p.ConfigError) as info:
        p.load_config(cfg)
    assert key in str(info.value)
    assert isinstance(info.value, ValueError)


def test_chained_repo(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "a"))
    cfg["blobstores"]["disk2"] = {"type": "disk", "cachedir": str(tmp_path / "b" / "blobs")}
    cfg["artifact_repos"]["second"] = {
        "type": "sql", "db": f"sqlite:///{tmp_path / 'b' / 'i.db'}", "store": "disk2",
    }  # fmt: skip
    cfg["artifact_repos"]["both"] = {"type": "chained", "repos": ["local", "second"]}
    cfg["default_repo"] = "both"
    cfg_obj = p.load_config(cfg)
    r = ident(3)
    assert r.artifact.id in cfg_obj.repos["local"]
    assert r.artifact.id in cfg_obj.repos["second"]
    assert p.load_proxy(r.artifact.id) == 3


def test_chained_blobstore_config(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "a"))
    cfg["blobstores"]["mem"] = {"type": "memory"}
    cfg["blobstores"]["both"] = {"type": "chained", "stores": ["mem", "disk"]}
    cfg["artifact_repos"]["local"]["store"] = "both"
    obj = p.load_config(cfg)
    assert isinstance(obj.blobstores["both"], p.ChainedStore)
    assert ident(7) == 7


def test_the_original_basic_examples_config_keys_are_accepted(tmp_path: Any) -> None:
    # The original library's examples/basic/basic_example.py config, with
    # its read_through_write flags (the database pointed at SQLite here).
    cfg = {
        "blobstores": {
            "disk": {
                "type": "disk", "cachedir": str(tmp_path / "artifacts"), "read": True,
                "write": True, "read_through_write": False, "delete": True,
                "on_duplicate_key": "skip",
            }
        },
        "artifact_repos": {
            "local": {
                "type": "postgres", "db": f"sqlite:///{tmp_path / 'i.db'}",
                "store": "disk", "read": True, "write": True, "read_through_write": False,
                "delete": True,
            }
        },
        "default_repo": "local",
    }  # fmt: skip
    p.load_config(cfg)
    assert ident(5) == 5 and ident(5).artifact.id in p.get_default_repo()


def test_read_through_write_false_keeps_a_chain_from_copying_into_a_store(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "a"))
    cfg["blobstores"]["front"] = {"type": "disk", "cachedir": str(tmp_path / "front")}
    cfg["blobstores"]["shy"] = {
        "type": "disk", "cachedir": str(tmp_path / "shy"), "read_through_write": False,
    }  # fmt: skip
    cfg["blobstores"]["chain"] = {"type": "chained", "stores": ["front", "shy", "disk"]}
    obj = p.load_config(cfg)
    chain, front, shy, back = (obj.blobstores[n] for n in ("chain", "front", "shy", "disk"))
    from provenance.hashing import hash_bytes

    key = hash_bytes(b"x" * 100)
    back.put(key, b"x" * 100)
    assert chain.get(key) == b"x" * 100
    assert front._exists(key)  # copied into the store that accepts copies
    assert not shy._exists(key)  # not into the one that refuses them


def test_get_repo_by_name_and_set_default(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "a"))
    cfg["artifact_repos"]["mem"] = {"type": "memory"}
    p.load_config(cfg)
    mem = p.get_repo_by_name("mem")
    with pytest.raises(p.RepoNotFound, match="nope"):
        p.get_repo_by_name("nope")
    p.set_default_repo("mem")
    assert p.get_default_repo() is mem
    other = p.memory_repo()
    p.set_default_repo(other)
    assert p.get_default_repo() is other


def test_using_repo_is_scoped_to_the_thread(tmp_path: Any) -> None:
    p.load_config(sqlite_config(str(tmp_path / "a")))
    default = p.get_default_repo()
    mem = p.memory_repo()
    seen: dict[str, Any] = {}
    entered = threading.Event()
    release = threading.Event()

    def other_thread() -> None:
        entered.wait()
        seen["other"] = p.get_default_repo()
        release.set()

    t = threading.Thread(target=other_thread)
    t.start()
    with p.using_repo(mem) as r:
        assert r is mem
        assert p.get_default_repo() is mem
        assert ident(11).artifact.id in mem
        entered.set()
        release.wait()
    t.join()
    assert seen["other"] is default
    assert p.get_default_repo() is default
    assert ident.artifact_id(11) not in default


def test_sqlite_repo_accepts_a_bare_path(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "a"))
    cfg["artifact_repos"]["local"]["db"] = str(tmp_path / "plain.db")
    cfg["artifact_repos"]["local"]["type"] = "sqlite"
    p.load_config(cfg)
    ident(1)
    assert os.path.exists(tmp_path / "plain.db")


def test_set_default_repo_none_clears_the_default(tmp_path: Any) -> None:
    """Issue 14, gap 10: the original's ``set_default_repo(None)``."""
    repo = p.memory_repo()
    p.set_default_repo(repo)
    p.set_default_repo(None)
    assert p.get_default_repo() is None
    ran = []

    @p.provenance()
    def f(x: int) -> int:
        ran.append(x)
        return x

    with pytest.raises(p.RepoNotFound, match=r"no default repo \(set_default_repo\(None\)"):
        f(1)
    assert ran == []  # before the function runs
    with pytest.raises(p.RepoNotFound, match="no default repo"):
        p.load_artifact("0" * 32)
    with p.using_repo(repo):  # an explicit repo still works, and is restored after
        assert f(2) == 2
    assert p.get_default_repo() is None
    p.set_default_repo(repo)
    assert p.get_default_repo() is repo and f(2) == 2 and ran == [2]


def test_config_current_and_set_current_as_the_original() -> None:
    import provenance.repos as r

    first = p.load_config(MEMORY_CONFIG)
    second = p.load_config(MEMORY_CONFIG)
    assert r.Config.current() is second
    r.Config.set_current(first)
    assert p.current_config() is first and p.get_default_repo() is first.repos["mem"]
    with pytest.raises(TypeError, match="takes a Config, got dict"):
        r.Config.set_current({})  # type: ignore[arg-type]


# -- optional dependencies are checked when the config is loaded ---------------------


_MISSING_EXTRA = """
import sys
for module in sys.argv[1].split(","):
    sys.modules[module] = None  # the import fails, as if the package were not installed
import json
import provenance as p
try:
    p.load_config(json.loads(sys.argv[2]))
except p.MissingDependency as exc:
    print("MissingDependency:", exc)
else:
    print("loaded")
"""


def _store_config(store: dict[str, Any]) -> dict[str, Any]:
    return {
        "blobstores": {"remote": store},
        "artifact_repos": {"r": {"type": "memory", "store": "remote"}},
        "default_repo": "r",
    }


def _pg_config(url: str) -> dict[str, Any]:
    return {
        "blobstores": {"m": {"type": "memory"}},
        "artifact_repos": {"r": {"type": "postgres", "db": url, "store": "m"}},
        "default_repo": "r",
    }


@pytest.mark.parametrize(
    ("missing", "config", "extra", "key"),
    [
        ("boto3", _store_config({"type": "s3", "bucket": "b"}), "s3", "blobstores.remote"),
        (
            "boto3",
            _store_config({"type": "s3", "basepath": "s3://b/p"}),
            "s3",
            "blobstores.remote",
        ),
        ("fsspec", _store_config({"type": "fsspec", "url": "memory://x"}), "fsspec", "remote"),
        (
            "paramiko",
            _store_config({"type": "sftp", "basepath": "/x", "ssh_config": {"hostname": "h"}}),
            "sftp",
            "blobstores.remote",
        ),
        ("gcsfs", _store_config({"type": "gs", "bucket": "b"}), "gs", "blobstores.remote"),
        # A URL that names no driver works with psycopg2 or psycopg 3: neither is here.
        (
            "psycopg,psycopg2",
            _pg_config("postgresql://u@127.0.0.1:1/db"),
            "postgres",
            "artifact_repos.r.db",
        ),
        (
            "psycopg",
            _pg_config("postgresql+psycopg://u:secret@127.0.0.1:1/db"),
            "postgres",
            "artifact_repos.r.db",
        ),
    ],
)
def test_a_missing_extra_is_reported_when_the_config_loads(
    missing: str, config: dict[str, Any], extra: str, key: str
) -> None:
    # In a fresh process, so the packages can be made to look uninstalled;
    # nothing is contacted (no S3, no server on port 1): the check comes first.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", _MISSING_EXTRA, missing, json.dumps(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("MissingDependency:"), out.stdout + out.stderr
    assert f"pip install 'provenance[{extra}]'" in out.stdout
    assert key in out.stdout
    assert "secret" not in out.stdout


def test_a_postgres_repo_of_the_original_api_checks_its_driver_too() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = sys.modules['psycopg2'] = None\n"
        "import provenance as p\n"
        "from provenance.repos import PostgresRepo\n"
        "from provenance.blobstores import MemoryStore\n"
        "try:\n"
        "    PostgresRepo('postgresql://u@127.0.0.1:1/db', MemoryStore())\n"
        "except p.MissingDependency as exc:\n"
        "    print('MissingDependency:', exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert "MissingDependency:" in out.stdout, out.stdout + out.stderr
    assert "pip install 'provenance[postgres]'" in out.stdout


def test_an_s3_prefix_with_dot_segments_is_refused(tmp_path: Any) -> None:
    for prefix in ("a/../b", "..", "a/./b"):
        with pytest.raises(p.ConfigError, match="'.' or '..' segments"):
            p.load_config(_store_config({"type": "s3", "bucket": "b", "prefix": prefix}))
