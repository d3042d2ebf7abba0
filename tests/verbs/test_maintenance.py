"""verify() and gc(): finding damaged values and unreferenced blobs."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import text

import provenance as p


@p.provenance()
def make(n: int) -> bytes:
    return bytes([n % 256]) * (n * 1000)


def test_verify_finds_missing_and_corrupt_values(disk_repo: Any) -> None:
    good, lost, damaged, small = make(10), make(20), make(30), make(1)
    assert p.verify().ok
    os.unlink(disk_repo.blobstore.local_path(lost.artifact.blob_id))
    with open(disk_repo.blobstore.local_path(damaged.artifact.blob_id), "r+b") as f:
        f.write(b"\x00\x01\x02")
    with disk_repo.index.engine.begin() as conn:
        conn.execute(
            text("UPDATE artifacts SET value_inline = :v WHERE id = :i"),
            {"v": b"garbage", "i": small.artifact.id},
        )
    report = p.verify()
    assert report.checked == 4
    assert not report.ok
    found = {(x.artifact_id, x.kind) for x in report.problems}
    assert found == {
        (lost.artifact.id, "missing"),
        (damaged.artifact.id, "corrupt"),
        (small.artifact.id, "corrupt"),
    }
    assert all(x.name == f"{__name__}.make" for x in report.problems)
    assert good.artifact.id not in {x.artifact_id for x in report.problems}


def test_gc_finds_only_unreferenced_blobs(disk_repo: Any) -> None:
    kept = make(10)
    orphan = "ab" * 16
    disk_repo.blobstore.put(orphan, b"nobody refers to me")
    dry = p.gc(grace_period=0)
    assert dry.dry_run and dry.unreferenced == [orphan] and dry.deleted == []
    assert disk_repo.blobstore.exists(orphan)
    done = p.gc(dry_run=False, grace_period=0)
    assert done.deleted == [orphan]
    assert done.bytes_freed == len(b"nobody refers to me")
    assert not disk_repo.blobstore.exists(orphan)
    assert p.load_proxy(kept.artifact.id) == kept


def test_gc_never_deletes_a_blob_shared_by_another_artifact(disk_repo: Any) -> None:
    @p.provenance()
    def same(tag: str) -> bytes:
        return b"z" * 20_000

    a, b = same("a"), same("b")
    assert a.artifact.blob_id == b.artifact.blob_id  # deduplicated
    disk_repo.delete_artifact(a.artifact.id)
    report = p.gc(dry_run=False, grace_period=0)
    assert report.deleted == []
    assert p.load_proxy(b.artifact.id) == b"z" * 20_000


def test_gc_skips_recent_blobs(disk_repo: Any) -> None:
    orphan = "cd" * 16
    disk_repo.blobstore.put(orphan, b"just written")
    report = p.gc(dry_run=False)
    assert report.skipped_recent == [orphan]
    assert disk_repo.blobstore.exists(orphan)


def test_re_putting_an_existing_blob_refreshes_its_age(disk_repo: Any) -> None:
    key = "ef" * 16
    disk_repo.blobstore.put(key, b"x")
    path = disk_repo.blobstore.local_path(key)
    os.utime(path, (1, 1))
    assert disk_repo.blobstore.age(key) > 1e6
    disk_repo.blobstore.put(key, b"x")
    assert disk_repo.blobstore.age(key) < 60


def test_gc_needs_the_delete_flag(tmp_path: Any) -> None:
    from conftest import sqlite_config

    cfg = sqlite_config(str(tmp_path / "r"))
    cfg["blobstores"]["disk"]["delete"] = False
    p.load_config(cfg)
    make(3)
    assert p.gc().dry_run
    with pytest.raises(p.PermissionDenied, match="delete"):
        p.gc(dry_run=False)


def test_gc_keeps_blobs_of_other_repos_sharing_the_store(tmp_path: Any) -> None:
    from conftest import sqlite_config

    cfg = sqlite_config(str(tmp_path / "r"))
    cfg["artifact_repos"]["other"] = {
        "type": "sql", "db": f"sqlite:///{tmp_path / 'other.db'}", "store": "disk",
    }  # fmt: skip
    p.load_config(cfg)
    with p.using_repo("other"):
        theirs = make(40)
    report = p.gc("local", dry_run=False, grace_period=0)
    assert report.deleted == []
    with p.using_repo("other"):
        assert p.verify().ok
        assert p.load_proxy(theirs.artifact.id) == theirs
