"""Shared fixtures: every test runs against a fresh, isolated configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from pg_server import postgres_server, postgres_url  # noqa: F401  (fixtures)

import provenance as p
from provenance import config as _config
from provenance import recording as runs
from provenance import runinfo
from provenance.flows.client import namespaces
from provenance.storage.index import engine as _engine


@pytest.fixture(autouse=True)
def isolated(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A private PROVENANCE_HOME and default settings for each test."""
    monkeypatch.setenv("PROVENANCE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PROVENANCE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    _config._current = None
    _config.settings.check_mutations = None
    _config.settings.code_identity = "auto"
    _config.settings.use_cache = True
    _config.settings.read_only = False
    _config.settings.record_tasks = True
    runinfo.set_run_info_fn(None)
    namespaces._provider = None
    namespaces._namespace = namespaces._UNSET
    before = set(_engine._open_indexes)
    yield
    # The test's implicit runs end with it, while its repos (and servers) live.
    runs.end_implicit_runs()
    # The PostgreSQL indexes the test opened give their connections back (they
    # reconnect if used again): a serial run would otherwise reach the test
    # server's max_connections.
    for index in set(_engine._open_indexes) - before:
        if index.url.get_backend_name() == "postgresql":
            index.dispose()
    _config._current = None
    runinfo.set_run_info_fn(None)
    namespaces._provider = None
    namespaces._namespace = namespaces._UNSET


def sqlite_config(root: str, **repo_extra: Any) -> dict[str, Any]:
    return {
        "blobstores": {
            "disk": {"type": "disk", "cachedir": os.path.join(root, "blobs"), "delete": True}
        },
        "artifact_repos": {
            "local": {
                "type": "sql",
                "db": "sqlite:///" + os.path.join(root, "index.db"),
                "store": "disk",
                "delete": True,
                **repo_extra,
            }
        },
        "default_repo": "local",
    }


MEMORY_CONFIG = {
    "blobstores": {},
    "artifact_repos": {"mem": {"type": "memory"}},
    "default_repo": "mem",
}


def postgres_config(url: str, root: str, **repo_extra: Any) -> dict[str, Any]:
    cfg = sqlite_config(root, **repo_extra)
    cfg["artifact_repos"]["local"]["db"] = url
    cfg["artifact_repos"]["local"]["type"] = "postgres"
    return cfg


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def repo(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """The default repo: in memory, SQLite + disk, and PostgreSQL + disk."""
    if request.param == "memory":
        cfg = p.load_config(MEMORY_CONFIG)
    elif request.param == "sqlite":
        cfg = p.load_config(sqlite_config(str(tmp_path / "repo")))
    else:
        url = request.getfixturevalue("postgres_url")
        cfg = p.load_config(postgres_config(url, str(tmp_path / "repo")))
    return cfg.repos[cfg.default_repo]


@pytest.fixture
def disk_repo(tmp_path: Any) -> Any:
    """The default repo as SQLite + disk."""
    cfg = p.load_config(sqlite_config(str(tmp_path / "repo")))
    return cfg.repos[cfg.default_repo]


#: The script a test runs as a separate writer process (``worker_script.py``).
WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker_script.py")


def spawn_worker(config: dict[str, Any], *args: str, cwd: Any) -> subprocess.Popen[str]:
    """Start ``worker_script.py`` with ``config`` (as JSON) and ``args``, output piped."""
    return subprocess.Popen(
        [sys.executable, WORKER_SCRIPT, json.dumps(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
