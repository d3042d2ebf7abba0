"""Shared fixtures: every test runs against a fresh, isolated configuration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

import provenance as p
from provenance import config as _config
from provenance import runinfo


@pytest.fixture(autouse=True)
def isolated(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A private PROVENANCE_HOME and default settings for each test."""
    monkeypatch.setenv("PROVENANCE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    _config._current = None
    _config.settings.check_mutations = False
    _config.settings.use_cache = True
    runinfo.set_run_info_fn(None)
    yield
    _config._current = None
    runinfo.set_run_info_fn(None)


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


@pytest.fixture(params=["memory", "sqlite"])
def repo(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """The default repo, once in memory and once as SQLite + disk."""
    if request.param == "memory":
        cfg = p.load_config(MEMORY_CONFIG)
    else:
        cfg = p.load_config(sqlite_config(str(tmp_path / "repo")))
    return cfg.repos[cfg.default_repo]


@pytest.fixture
def disk_repo(tmp_path: Any) -> Any:
    """The default repo as SQLite + disk."""
    cfg = p.load_config(sqlite_config(str(tmp_path / "repo")))
    return cfg.repos[cfg.default_repo]
