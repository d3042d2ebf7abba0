"""Deleting artifacts and eviction (:mod:`provenance.storage.eviction`), on every index.

``f.forget``, ``f.clear``, :func:`provenance.remove_artifacts` and
``gc(max_size=...)`` against memory, SQLite + disk and PostgreSQL + disk
repos: rows go, blobs no one needs go, shared blobs and set members stay.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import sqlite_config

import provenance as p
from provenance import recording
from provenance.errors import ConfigError, PermissionDenied
from provenance.storage import eviction
from provenance.storage.proxies import TransformedProxy
from provenance.storage.stored_inputs import InputArtifactGone


@pytest.fixture(autouse=True)
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    # The blobs made by a test are seconds old: let deletions take them.
    monkeypatch.setattr(eviction, "GRACE_PERIOD", 0.0)


@p.provenance(name="ev.block")
def block(n: int, size: int = 100_000) -> bytes:
    return bytes([n % 256]) * size


@p.provenance(name="ev.same")
def same(n: int) -> bytes:
    return b"s" * 50_000  # one value for every n: one blob


@p.provenance(name="ev.total")
def total(a: Any, k: int) -> float:
    return float(a.sum()) * k


def stored(repo: Any, key: str) -> bool:
    return bool(repo.blobstore.exists(key))


def test_forget_deletes_one_calls_artifact_and_its_blob(repo: Any) -> None:
    one, two = block(1), block(2)
    blob = one.artifact.blob_id
    assert block.forget(1) is True
    assert not block.in_cache(1) and block.in_cache(2)
    assert not stored(repo, blob) and stored(repo, two.artifact.blob_id)
    assert block.forget(1) is False  # nothing left to forget
    assert bytes(block(2)) == b"\x02" * 100_000
    assert block(1).artifact.id == one.artifact.id  # computed again, same id


def test_a_blob_another_artifact_refers_to_stays(repo: Any) -> None:
    a, b = same(1), same(2)
    assert a.artifact.blob_id == b.artifact.blob_id
    assert same.forget(1)
    assert stored(repo, b.artifact.blob_id)
    assert bytes(repo.get_artifact(b.artifact.id).value) == b"s" * 50_000


def test_a_shared_stored_input_stays_until_its_last_user_goes(repo: Any) -> None:
    a = np.random.default_rng(1).random(20_000)  # 160 KB: stored apart, once
    first, second = total(a, 1), total(a, 2)
    (ref,) = eviction.footprints(repo, ids=[first.artifact.id])[0].blobs[-1:]
    key = ref[0]
    assert key.endswith(".in") and stored(repo, key)
    report = p.remove_artifacts([first.artifact.id], repo)
    assert key in report.blobs_shared and stored(repo, key)
    np.testing.assert_array_equal(repo.get_artifact(second.artifact.id).inputs["kargs"]["a"], a)
    report = p.remove_artifacts([second.artifact.id], repo)
    assert key in report.blobs_deleted and not stored(repo, key)
    assert report.bytes_freed >= 160_000


def test_set_members_are_refused_by_forget_and_left_by_clear(repo: Any) -> None:
    kept, other = block(1), block(2)
    p.create_set([kept.artifact.id], labels="keepers", repo=repo)
    with pytest.raises(PermissionDenied, match="keepers"):
        block.forget(1)
    with pytest.raises(PermissionDenied, match="saved sets"):
        p.remove_artifacts([kept.artifact.id, other.artifact.id], repo)
    assert block.in_cache(1) and block.in_cache(2)  # all or nothing
    report = block.clear()
    assert report.removed == [other.artifact.id] and report.protected == [kept.artifact.id]
    assert block.in_cache(1) and not block.in_cache(2)
    assert block.clear(force=True).removed == [kept.artifact.id]
    assert not block.in_cache(1)


def test_clear_takes_every_version_of_the_name_and_nothing_else(repo: Any) -> None:
    @p.provenance(name="ev.versioned", version=1)
    def old(n: int) -> int:
        return n

    @p.provenance(name="ev.versioned", version=2)
    def new(n: int) -> int:
        return n + 1

    old(1), new(1), new(2)
    unrelated = block(3)
    assert len(new.clear().removed) == 3
    assert not old.in_cache(1) and not new.in_cache(2)
    assert unrelated.artifact.id in repo


def test_a_dry_run_deletes_nothing_and_says_what_would_go(repo: Any) -> None:
    a, b = same(1), block(1)
    report = p.remove_artifacts([a.artifact.id, b.artifact.id], repo, dry_run=True)
    assert sorted(report.removed) == sorted([a.artifact.id, b.artifact.id])
    assert report.bytes_freed >= 150_000 and report.dry_run
    assert a.artifact.id in repo and stored(repo, b.artifact.blob_id)


def test_least_recently_used_artifacts_are_evicted_first(repo: Any) -> None:
    a, b, c = block(1), block(2), block(3)
    block(1)  # a cache hit: a task record makes `a` the most recently used
    recording.flush()
    size = eviction.total_size(eviction.footprints(repo))
    report = p.gc(repo, dry_run=False, grace_period=0, max_size=size - 1).evicted[0]
    assert report.removed == [b.artifact.id]
    assert a.artifact.id in repo and c.artifact.id in repo and b.artifact.id not in repo
    assert report.bytes_freed >= 100_000 and not stored(repo, b.artifact.blob_id)
    assert report.size_after is not None and report.size_after <= size - 1


def test_eviction_never_takes_set_members_and_says_what_remains(repo: Any) -> None:
    kept = [block(n) for n in range(3)]
    loose = block(9)
    p.create_set([k.artifact.id for k in kept], labels="keep", repo=repo)
    report = p.gc(repo, dry_run=False, grace_period=0, max_size="1KB").evicted[0]
    assert report.removed == [loose.artifact.id]
    assert sorted(report.protected) == sorted(k.artifact.id for k in kept)
    assert report.protected_bytes >= 300_000 and report.size_after == report.protected_bytes
    assert all(k.artifact.id in repo for k in kept)


def test_an_eviction_dry_run_lists_and_keeps(repo: Any) -> None:
    a = block(1)
    block(2)
    report = p.gc(repo, dry_run=True, max_size=150_000).evicted[0]
    assert report.removed == [a.artifact.id] and report.dry_run
    assert a.artifact.id in repo and stored(repo, a.artifact.blob_id)


def test_max_size_is_kept_after_stores_in_the_storing_process(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eviction, "CHECK_INTERVAL", 0.0)
    cfg = p.load_config(sqlite_config(str(tmp_path / "repo"), max_size="250KB"))
    repo = cfg.repos["local"]
    assert repo.max_size == 250_000
    made = [block(n) for n in range(5)]
    ids = [m.artifact.id for m in made]
    # Each store evicts the oldest others: at most two 100 KB values stay.
    assert [i in repo for i in ids] == [False, False, False, True, True]
    assert eviction.total_size(eviction.footprints(repo)) <= 250_000
    assert repo.spec()["max_size"] == 250_000  # workers keep the bound too


def test_a_hit_never_evicts(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eviction, "CHECK_INTERVAL", 0.0)
    cfg = p.load_config(sqlite_config(str(tmp_path / "repo")))
    repo = cfg.repos["local"]
    made = [block(n) for n in range(3)]
    repo.max_size = 150_000  # lowered after the stores
    for _ in range(3):
        block(0)  # hits only
    assert all(m.artifact.id in repo for m in made)


def test_bad_max_size_and_repos_that_cannot_evict_are_config_errors(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match=r"'artifact_repos\.local\.max_size' must be a size"):
        p.load_config(sqlite_config(str(tmp_path / "a"), max_size="20 furlongs"))
    with pytest.raises(ConfigError, match=r"'artifact_repos\.local\.max_size'.*delete"):
        p.load_config(sqlite_config(str(tmp_path / "b"), max_size="1GB", delete=False))
    cfg = sqlite_config(str(tmp_path / "c"), max_size="1GB")
    cfg["blobstores"]["disk"]["delete"] = False
    with pytest.raises(ConfigError, match="blobstore.*delete"):
        p.load_config(cfg)
    with pytest.raises(ConfigError, match="'max_size' must be a size"):
        p.gc(p.memory_repo(), max_size="lots")


def test_a_repo_that_may_not_delete_refuses(tmp_path: Any) -> None:
    cfg = p.load_config(sqlite_config(str(tmp_path / "repo"), delete=False))
    made = block(1)
    with pytest.raises(PermissionDenied, match="delete: false"):
        block.forget(1)
    with pytest.raises(PermissionDenied, match="delete: false"):
        block.clear()
    with pytest.raises(PermissionDenied, match="delete: false"):
        p.gc(cfg.repos["local"], max_size="1KB")
    assert made.artifact.id in cfg.repos["local"]


def test_a_read_only_repo_refuses(tmp_path: Any) -> None:
    root = str(tmp_path / "repo")
    p.load_config(sqlite_config(root))
    made = block(1)
    p.load_config(sqlite_config(root, write=False))
    with pytest.raises(PermissionDenied, match="read-only"):
        block.forget(1)
    assert made.artifact.id in p.get_default_repo()


def test_rows_go_before_blobs_and_gc_finds_what_a_killed_deleter_left(disk_repo: Any) -> None:
    made = block(1)
    blob = made.artifact.blob_id
    # The state a deleter killed between its two steps leaves: the row gone, the blob not.
    disk_repo.index.delete(made.artifact.id)
    assert not block.in_cache(1)
    report = p.gc(disk_repo, dry_run=False, grace_period=0)
    assert blob in report.deleted and not stored(disk_repo, blob)


def test_a_recent_blob_is_left_for_gc(disk_repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eviction, "GRACE_PERIOD", 3600.0)
    made = block(1)
    report = p.remove_artifacts([made.artifact.id], disk_repo)
    assert report.removed == [made.artifact.id] and report.blobs_left == [made.artifact.blob_id]
    assert report.bytes_left >= 100_000 and stored(disk_repo, made.artifact.blob_id)
    assert made.artifact.blob_id in p.gc(disk_repo, dry_run=False, grace_period=0).deleted


def test_a_yaml_max_size_is_read_in_binary_units(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "repo"), max_size="1.5G")
    path = tmp_path / "provenance.yaml"
    path.write_text(yaml.safe_dump(cfg))
    loaded = p.load_yaml_config(path)
    assert loaded.repos["local"].max_size == int(1.5 * (1 << 30))


@p.provenance(name="ev.again")
def again(n: int) -> bytes:
    return bytes([n % 256]) * 100_000  # the same bytes as block(n)


def test_a_blob_a_writer_has_just_put_again_is_left_for_gc(
    disk_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eviction, "GRACE_PERIOD", 3600.0)
    old = block(1)
    key = old.artifact.blob_id
    path = disk_repo.blobstore._path(key)
    two_hours_ago = os.stat(path).st_mtime - 7200
    os.utime(path, (two_hours_ago, two_hours_ago))
    # Another writer puts the same bytes now, and has not indexed its row
    # yet: the put refreshes the blob's time, so the deletion leaves it.
    disk_repo.blobstore.put(key, disk_repo.blobstore.get(key))
    report = p.remove_artifacts([old.artifact.id], disk_repo)
    assert report.blobs_left == [key] and stored(disk_repo, key)
    # Once indexed, the other artifact keeps it: removing the first is safe.
    again(1)
    assert bytes(again(1)) == bytes([1]) * 100_000


def test_a_blob_an_indexed_artifact_shares_is_kept(disk_repo: Any) -> None:
    old, new = block(1), again(1)
    assert new.artifact.blob_id == old.artifact.blob_id
    report = p.remove_artifacts([old.artifact.id], disk_repo)
    assert report.blobs_shared == [old.artifact.blob_id]
    assert bytes(disk_repo.get_artifact(new.artifact.id).value) == bytes([1]) * 100_000


def test_an_old_blob_of_a_removed_artifact_is_deleted_at_once(
    disk_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eviction, "GRACE_PERIOD", 3600.0)
    old = block(1)
    path = disk_repo.blobstore._path(old.artifact.blob_id)
    two_hours_ago = os.stat(path).st_mtime - 7200
    os.utime(path, (two_hours_ago, two_hours_ago))
    report = p.remove_artifacts([old.artifact.id], disk_repo)
    assert report.blobs_deleted == [old.artifact.blob_id] and not os.path.exists(path)


def test_deletions_and_gc_share_one_grace_period(monkeypatch: pytest.MonkeyPatch) -> None:
    from provenance.verbs import gc

    monkeypatch.undo()  # the module's own value, not this file's
    assert eviction.GRACE_PERIOD == gc.GRACE_PERIOD == 3600.0


def test_a_chained_repo_removes_from_each_member_and_evicts_each(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "a"))
    other = sqlite_config(str(tmp_path / "b"))
    cfg["blobstores"]["disk_b"] = other["blobstores"]["disk"]
    cfg["artifact_repos"]["other"] = {**other["artifact_repos"]["local"], "store": "disk_b"}
    cfg["artifact_repos"]["both"] = {"type": "chained", "repos": ["local", "other"],
                                     "delete": True}  # fmt: skip
    cfg["default_repo"] = "both"
    loaded = p.load_config(cfg)
    chain, first, second = (loaded.repos[n] for n in ("both", "local", "other"))
    made = [block(n) for n in range(3)]
    assert all(m.artifact.id in first and m.artifact.id in second for m in made)
    assert block.forget(0)
    assert made[0].artifact.id not in first and made[0].artifact.id not in second
    reports = p.gc(chain, dry_run=False, grace_period=0, max_size=150_000).evicted
    assert [r.removed for r in reports] == [[made[1].artifact.id]] * 2
    assert made[2].artifact.id in first and made[2].artifact.id in second
    second.delete_allowed = False  # a shared member this user may not delete from
    block(5)
    reports = p.gc(chain, dry_run=False, grace_period=0, max_size=150_000).evicted
    assert [r.removed for r in reports] == [[made[2].artifact.id]]
    assert made[2].artifact.id not in first and made[2].artifact.id in second
    chain.delete_allowed = False
    with pytest.raises(PermissionDenied, match="delete: false"):
        block.forget(2)
    with pytest.raises(PermissionDenied, match="delete: false"):
        p.gc(chain, max_size="1KB")


@p.provenance(name="ev.parts", returns_composite=True)
def parts(n: int) -> dict[str, bytes]:
    return {"a": bytes([n]) * 100_000, "b": bytes([n + 1]) * 100_000}


def test_a_composites_members_stay_while_it_does(repo: Any) -> None:
    whole = parts(1)
    ids = {k: whole[k].artifact.id for k in ("a", "b")}
    with pytest.raises(PermissionDenied, match="held by the value of"):
        p.remove_artifacts([ids["a"]], repo)
    # Eviction passes over the members while the composite is there: it goes first.
    report = p.gc(repo, dry_run=False, grace_period=0, max_size=150_000).evicted[0]
    assert set(report.held) <= set(ids.values()) and report.removed == [whole.artifact.id]
    assert whole.artifact.id not in repo
    # Unheld now: the next pass may take them.
    report = p.gc(repo, dry_run=False, grace_period=0, max_size=150_000).evicted[0]
    assert len(report.removed) == 1 and report.removed[0] in ids.values()


def test_removing_a_composite_with_its_members_is_allowed(repo: Any) -> None:
    whole = parts(2)
    every = [whole.artifact.id, whole["a"].artifact.id, whole["b"].artifact.id]
    assert sorted(p.remove_artifacts(every, repo).removed) == sorted(every)


def test_clear_takes_a_composites_members_with_it(repo: Any) -> None:
    whole = parts(3)
    members = [whole[k].artifact.id for k in ("a", "b")]
    other = block(3)
    report = parts.clear()
    assert sorted(report.removed) == sorted([whole.artifact.id, *members])
    assert all(i not in repo for i in members) and other.artifact.id in repo


def test_gc_applies_the_repos_max_size_setting(disk_repo: Any) -> None:
    made = [block(n) for n in range(3)]
    disk_repo.max_size = 250_000  # as the config's max_size sets it
    report = p.gc(disk_repo, dry_run=False, grace_period=0)
    assert [r.removed for r in report.evicted] == [[made[0].artifact.id]]
    assert made[0].artifact.blob_id in report.evicted[0].blobs_deleted


# -- artifacts kept when those they were computed from go -----------------------------

made: list[str] = []


@p.provenance(name="ev.big")
def big(n: int) -> bytes:
    made.append(f"big({n})")
    return bytes([n]) * 100_000


@p.provenance(name="ev.head")
def head(data: bytes, k: int = 3) -> bytes:
    made.append("head")
    return bytes(data[:k])


def test_a_removed_parents_kept_child_shows_a_placeholder_in_its_inputs(repo: Any) -> None:
    parent = big(7)
    child = head(parent, k=2)
    report = p.remove_artifacts([parent.artifact.id], repo)
    assert report.removed == [parent.artifact.id]
    assert report.dependents_kept == [child.artifact.id]

    inputs = repo.get_artifact(child.artifact.id).inputs  # read again from the index
    gone = inputs["kargs"]["data"]
    assert isinstance(gone, InputArtifactGone)
    assert (gone.parameter, gone.artifact_id) == ("data", parent.artifact.id)
    assert inputs["kargs"]["k"] == 2 and inputs["varargs"] == ()
    assert "removed or evicted" in repr(gone) and parent.artifact.id in repr(gone)
    # Never a value that looks like the parent's: any use says what happened.
    with pytest.raises(AttributeError, match="no longer in the repo: it was removed or evicted"):
        gone.decode()
    assert repr(pickle.loads(pickle.dumps(gone))) == repr(gone)

    # Computing the parent again stores it under the same id: the inputs load whole.
    assert big(7).artifact.id == parent.artifact.id
    again = repo.get_artifact(child.artifact.id).inputs["kargs"]["data"]
    assert bytes(again) == bytes([7]) * 100_000 and again.artifact.id == parent.artifact.id


def test_a_removal_counts_the_kept_artifacts_computed_from_it(repo: Any) -> None:
    parent = big(1)
    first, second = head(parent, k=1), head(parent, k=2)
    planned = p.remove_artifacts([parent.artifact.id], repo, dry_run=True)
    assert planned.dependents_kept == sorted([first.artifact.id, second.artifact.id])
    assert parent.artifact.id in repo
    # What goes with its parent is not counted as kept.
    both = p.remove_artifacts([parent.artifact.id, first.artifact.id], repo)
    assert both.dependents_kept == [second.artifact.id]
    assert big.clear().dependents_kept == []  # already gone: nothing removed, nothing noted
    assert head.clear().dependents_kept == []  # children have no children of their own


def test_eviction_takes_a_parent_first_and_its_kept_childs_hit_needs_it_not(
    repo: Any,
) -> None:
    parent = big(2)
    child = head(parent)
    recording.flush()
    size = eviction.total_size(eviction.footprints(repo))
    report = p.gc(repo, dry_run=False, grace_period=0, max_size=size - 1).evicted[0]
    assert report.removed == [parent.artifact.id]  # the least recently used
    assert report.dependents_kept == [child.artifact.id]
    assert isinstance(repo.get_artifact(child.artifact.id).inputs["kargs"]["data"],
                      InputArtifactGone)  # fmt: skip

    # A hit on the child returns its stored value: nothing runs, the parent stays gone.
    made.clear()
    hit = head(parent)
    assert bytes(hit) == bytes([2]) * 3 and hit.artifact.id == child.artifact.id
    assert made == [] and parent.artifact.id not in repo
    # The same value given plain is the same call: a hit too.
    assert head(bytes([2]) * 100_000).artifact.id == child.artifact.id and made == []


def test_a_transformed_value_of_a_removed_artifact_loads_as_the_value_alone(repo: Any) -> None:
    parent = big(3)
    shorter = parent.transform_value(lambda data: bytes(data[:5]))
    child = head(shorter, k=4)
    kept = repo.get_artifact(child.artifact.id).inputs["kargs"]["data"]
    assert isinstance(kept, TransformedProxy) and kept.artifact.id == parent.artifact.id
    p.remove_artifacts([parent.artifact.id], repo)
    # The value was recorded whole: it is still right, only its lineage is gone.
    alone = repo.get_artifact(child.artifact.id).inputs["kargs"]["data"]
    assert bytes(alone) == bytes([3]) * 5
    if repo.reduce_artifact(parent.artifact.id) is not None:
        assert type(alone) is bytes
    # else a repo in memory only: the pickle carries a copy of the artifact itself
