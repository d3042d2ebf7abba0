"""The one resolver of id prefixes (the command line's and ``load_proxy``'s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import sqlite_config
from sqlalchemy import text

import provenance as p
from provenance.storage.prefixes import resolve_artifact_id, resolve_set_id


@p.provenance()
def cube(n: int) -> int:
    return n**3


def test_every_member_of_a_chained_repo_is_searched(tmp_path: Path) -> None:
    cfg = sqlite_config(str(tmp_path / "a"))
    cfg["blobstores"]["disk2"] = {"type": "disk", "cachedir": str(tmp_path / "b" / "blobs")}
    cfg["artifact_repos"]["second"] = {
        "type": "sql", "db": f"sqlite:///{tmp_path / 'b' / 'i.db'}", "store": "disk2",
    }  # fmt: skip
    cfg["artifact_repos"]["both"] = {"type": "chained", "repos": ["local", "second"]}
    cfg["default_repo"] = "second"
    config = p.load_config(cfg)
    only_second = cube(2).artifact.id
    p.set_default_repo("local")
    only_local = cube(3).artifact.id
    both = config.repos["both"]
    assert only_second not in config.repos["local"] and only_local not in config.repos["second"]
    assert resolve_artifact_id(both, only_second[:8]) == only_second
    assert resolve_artifact_id(both, only_local[:9]) == only_local
    assert resolve_artifact_id(both, only_local) == only_local
    p.set_default_repo("both")
    assert p.load_proxy(only_second[:8]) == 8


def test_many_candidates_are_counted_up_to_a_hundred(disk_repo: Any) -> None:
    for n in range(102):
        cube(n)
    with disk_repo.index.engine.begin() as conn:
        conn.execute(text("UPDATE artifacts SET id = 'abcdef01' || substr(id, 9)"))
    with pytest.raises(p.AmbiguousId) as info:
        resolve_artifact_id(disk_repo, "abcdef01")
    message = str(info.value)
    assert "it matches over 100 artifact ids: " in message and message.endswith(
        ", ...; give more digits"
    )
    assert message.count("abcdef01") == 11  # the prefix, and ten candidates
    with pytest.raises(p.InvalidId, match="at least 8 characters"):
        resolve_artifact_id(disk_repo, "abcdef0")


def test_set_ids_resolve_by_prefix(disk_repo: Any) -> None:
    saved = p.create_set([cube(5)], labels="five")
    assert resolve_set_id(disk_repo, saved.id[:8]) == saved.id
    with pytest.raises(p.SetNotFound, match="no artifact set id starts with"):
        resolve_set_id(disk_repo, "0" * 8 if not saved.id.startswith("0") else "f" * 8)
    with pytest.raises(p.InvalidId, match="invalid set id 'five'"):
        resolve_set_id(disk_repo, "five")
