"""gc, verify and promote with inputs stored apart (once per value, shared by artifacts)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from conftest import sqlite_config

import provenance as p


@p.provenance()
def scaled_sum(a: Any, k: int = 1) -> float:
    return float(a.sum()) * k


def big(seed: int = 0) -> Any:
    return np.random.default_rng(seed).random(100_000)


def key_of(artifact: Any) -> str:
    return str(artifact.inputs_json["a"]["$input"]["blob"])


def test_gc_keeps_a_shared_input_until_no_artifact_refers_to_it(disk_repo: Any) -> None:
    a = big()
    first, second = scaled_sum(a, 1).artifact, scaled_sum(a, 2).artifact
    key = key_of(first)
    assert key == key_of(second)
    assert p.gc(dry_run=False, grace_period=0).deleted == []
    disk_repo.delete_artifact(first.id)
    assert p.gc(dry_run=False, grace_period=0).deleted == []  # the second still takes it
    np.testing.assert_array_equal(p.load_artifact(second.id).inputs["kargs"]["a"], a)
    disk_repo.delete_artifact(second.id)
    report = p.gc(dry_run=False, grace_period=0)
    assert report.deleted == [key] and report.bytes_freed > a.nbytes
    assert not disk_repo.blobstore.exists(key)


def test_gc_keeps_an_artifact_blob_that_an_input_refers_to(disk_repo: Any) -> None:
    @p.provenance()
    def make() -> Any:
        return big(3)

    made = make().artifact
    user = scaled_sum(big(3), 1).artifact  # equal to made's value: refers to its blob
    assert key_of(user) == made.blob_id
    disk_repo.delete_artifact(made.id)
    assert p.gc(dry_run=False, grace_period=0).deleted == []
    np.testing.assert_array_equal(p.load_artifact(user.id).inputs["kargs"]["a"], big(3))


def test_verify_checks_each_stored_input_once_and_reports_every_artifact(disk_repo: Any) -> None:
    a = big()
    sharing = [scaled_sum(a, k).artifact for k in (1, 2)]
    lone = scaled_sum(big(1), 1).artifact
    report = p.verify()
    assert report.ok and report.inputs_checked == 2
    # A value that does not hash to its key: corrupt, for both artifacts sharing it.
    path = disk_repo.blobstore.local_path(key_of(sharing[0]))
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        np.save(f, big(9))
    os.unlink(disk_repo.blobstore.local_path(key_of(lone)))
    report = p.verify()
    assert report.inputs_checked == 2
    found = {(x.artifact_id, x.kind) for x in report.problems}
    assert found == {(sharing[0].id, "corrupt"), (sharing[1].id, "corrupt"), (lone.id, "missing")}
    assert all(x.detail.startswith("input 'a': ") for x in report.problems)


def test_promote_copies_the_stored_inputs(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "local"))
    team = sqlite_config(str(tmp_path / "team"))
    cfg["blobstores"]["team"] = team["blobstores"]["disk"]
    cfg["artifact_repos"]["team"] = {**team["artifact_repos"]["local"], "store": "team"}
    p.load_config(cfg)
    a = big()
    artifact = scaled_sum(a, 1).artifact
    p.promote(artifact.id, "team")
    with p.using_repo("team"):
        np.testing.assert_array_equal(p.load_artifact(artifact.id).inputs["kargs"]["a"], a)
        assert p.verify().inputs_checked == 1
