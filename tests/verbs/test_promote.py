"""Promotion of artifacts with their lineage between repos."""

from __future__ import annotations

import os
from typing import Any

import pytest

import provenance as p


def two_repo_config(tmp_path: Any, **target_flags: Any) -> dict[str, Any]:
    a, b = tmp_path / "team_a", tmp_path / "team_b"
    return {
        "blobstores": {
            "a_disk": {"type": "disk", "cachedir": str(a / "blobs")},
            "b_disk": {"type": "disk", "cachedir": str(b / "blobs")},
        },
        "artifact_repos": {
            "a": {"type": "sql", "db": f"sqlite:///{a / 'index.db'}", "store": "a_disk"},
            "b": {"type": "sql", "db": f"sqlite:///{b / 'index.db'}", "store": "b_disk",
                  **target_flags},
            "mem": {"type": "memory"},
        },
        "default_repo": "a",
    }  # fmt: skip


@p.provenance()
def load(n: int) -> list[int]:
    return list(range(n))


@p.provenance()
def big(n: int) -> bytes:
    return bytes(range(256)) * n


def _n(x: Any) -> int:
    return x if isinstance(x, int) else len(x)


@p.provenance()
def combine(a: Any, b: Any) -> int:
    return _n(a) + _n(b)


@p.provenance(returns_composite=True)
def split(n: int) -> dict[str, Any]:
    return {"left": list(range(n)), "right": bytes(10_000)}


def test_promote_between_two_sqlite_repos(tmp_path: Any) -> None:
    p.load_config(two_repo_config(tmp_path))
    x, y = load(3), big(100)
    result = combine(x, y)
    copied = p.promote(result, "b")
    assert set(copied) == {x.artifact.id, y.artifact.id, result.artifact.id}
    b = p.get_repo_by_name("b")
    with p.using_repo("b"):
        back = p.load_proxy(result.artifact.id)
        assert back == result
        assert p.load_proxy(y.artifact.id) == bytes(range(256)) * 100
        assert back.artifact.input_artifact_ids == result.artifact.input_artifact_ids
        assert back.artifact.run_info == result.artifact.run_info
        assert back.artifact.inputs["kargs"]["a"] == [0, 1, 2]
        # What identifies the call goes along: argument hashes and the code's source.
        assert back.artifact.input_hashes == result.artifact.input_hashes
        assert back.artifact.code_fingerprint == combine.code_fingerprint().digest
        stored = b.code_source(back.artifact.code_fingerprint)
        assert stored is not None and "return _n(a) + _n(b)" in stored["source"]
        assert combine.why(x, y).cached
    assert b.index.lineage_edges(result.artifact.id) == p.get_repo_by_name("a").index.lineage_edges(
        result.artifact.id
    )
    # The large value went as a blob, the small ones in their rows.
    assert list(b.blobstore.keys()) == [y.artifact.blob_id]
    assert p.promote(result.artifact.id, "b") == []  # idempotent


def test_promote_by_repo_objects_and_from_repo(tmp_path: Any) -> None:
    cfg = p.load_config(two_repo_config(tmp_path))
    with p.using_repo("b"):
        made = load(7)
    copied = p.promote(made.artifact.id, cfg.repos["mem"], from_repo=cfg.repos["b"])
    assert copied == [made.artifact.id]
    assert made.artifact.id in cfg.repos["mem"]
    with pytest.raises(p.ArtifactNotFound):
        p.promote(made.artifact.id, "mem", from_repo="a")


def test_promote_refuses_a_read_only_target_and_changes_nothing(tmp_path: Any) -> None:
    p.load_config(two_repo_config(tmp_path, write=False))
    made = combine(load(2), big(5))
    with pytest.raises(p.PermissionDenied, match="write"):
        p.promote(made, "b")
    b = p.get_repo_by_name("b")
    assert b.index.count() == 0
    assert list(b.blobstore.keys()) == []


def test_interrupted_promotion_is_completed_by_a_rerun(tmp_path: Any, monkeypatch: Any) -> None:
    p.load_config(two_repo_config(tmp_path))
    parts = [big(i) for i in range(1, 6)]
    top = combine(parts[0], combine(parts[1], combine(parts[2], parts[3])))
    b = p.get_repo_by_name("b")
    real_put = type(b.index).put
    calls = {"n": 0}

    def failing_put(self: Any, *args: Any, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("stopped half way")
        return real_put(self, *args, **kwargs)

    monkeypatch.setattr(type(b.index), "put", failing_put)
    with pytest.raises(KeyboardInterrupt):
        p.promote(top, "b")
    monkeypatch.setattr(type(b.index), "put", real_put)
    # Half done: every row that exists has its blob.
    assert 0 < b.index.count() < 7
    for artifact_id in b.index.iter_ids():
        art = b.get_artifact(artifact_id)
        assert art.value is not None
    p.promote(top, "b")
    assert b.index.count() == 7
    with p.using_repo(b):
        assert p.load_proxy(top.artifact.id) == top


def test_promote_composites_with_their_members(tmp_path: Any) -> None:
    p.load_config(two_repo_config(tmp_path))
    parts = split(4)
    p.promote(parts.artifact.id, "b")
    with p.using_repo("b"):
        back = p.load_proxy(parts.artifact.id)
        assert back["left"] == [0, 1, 2, 3]
        assert back["right"] == bytes(10_000)


def test_promote_a_set(tmp_path: Any) -> None:
    p.load_config(two_repo_config(tmp_path))
    s = p.create_set([combine(load(1), load(2)), big(3)], "release")
    p.promote(s, "b")
    with p.using_repo("b"):
        again = p.load_set_by_name("release")
        assert again.artifact_ids == s.artifact_ids
        assert len(p.get_repo_by_name("b").index.find()) == 4
    p.promote(s.id, "mem")
    with p.using_repo("mem"):
        assert p.load_set_by_id(s.id) == s


def test_promote_into_a_chained_repo(tmp_path: Any) -> None:
    cfg = two_repo_config(tmp_path)
    cfg["artifact_repos"]["both"] = {"type": "chained", "repos": ["b", "mem"]}
    objs = p.load_config(cfg)
    made = load(9)
    p.promote(made, "both")
    assert made.artifact.id in objs.repos["b"]
    assert made.artifact.id in objs.repos["mem"]
    assert os.path.exists(tmp_path / "team_b" / "index.db")


def test_promote_refuses_a_lineage_whose_parent_was_removed_and_says_how_to_mend_it(
    tmp_path: Any,
) -> None:
    cfg = two_repo_config(tmp_path)
    cfg["artifact_repos"]["a"]["delete"] = True
    p.load_config(cfg)
    x = load(4)
    result = combine(x, 1)
    p.remove_artifacts([x.artifact.id], "a")
    with pytest.raises(p.ArtifactNotFound, match=f"removed or evicted since: {x.artifact.id}.*"
                       "call the functions that computed them again"):  # fmt: skip
        p.promote(result, "b")
    assert p.get_repo_by_name("b").index.count() == 0  # nothing half copied
    assert load(4).artifact.id == x.artifact.id  # computed again, under the same id
    assert set(p.promote(result, "b")) == {x.artifact.id, result.artifact.id}
