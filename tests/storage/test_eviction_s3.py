"""Eviction and ``rm`` of a repo whose values live in S3 (the local moto server)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from conftest import sqlite_config

import provenance as p
from provenance.storage import eviction

pytest_plugins = ["s3_server"]
pytestmark = pytest.mark.s3


@p.provenance(name="evs3.big")
def big(n: int) -> bytes:
    return bytes([n % 256]) * 50_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def s3_repo(request: pytest.FixtureRequest, s3_server: Any, s3_bucket: str, tmp_path: Any) -> Any:
    cfg = sqlite_config(str(tmp_path))
    cfg["blobstores"]["s3"] = {"type": "s3", "bucket": s3_bucket, "prefix": "ev",
                               "endpoint_url": s3_server.endpoint_url, "delete": True}  # fmt: skip
    db = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgres"
        else f"sqlite:///{os.path.join(str(tmp_path), 'team.db')}"
    )
    cfg["artifact_repos"]["team"] = {"type": "sql", "db": db, "store": "s3", "delete": True}
    cfg["default_repo"] = "team"
    return p.load_config(cfg).repos["team"]


def test_eviction_and_rm_delete_s3_blobs(s3_repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eviction, "GRACE_PERIOD", 0.0)
    made = [big(n).artifact for n in range(3)]
    keys = set(s3_repo.blobstore.keys())
    assert {m.blob_id for m in made} <= keys
    report = p.gc(s3_repo, dry_run=False, grace_period=0, max_size=110_000).evicted[0]
    assert report.removed == [made[0].id] and report.bytes_freed >= 50_000
    assert made[0].blob_id not in set(s3_repo.blobstore.keys())
    assert p.remove_artifacts([made[1].id], s3_repo).blobs_deleted == [made[1].blob_id]
    assert set(s3_repo.blobstore.keys()) & {m.blob_id for m in made} == {made[2].blob_id}
    assert p.load_proxy(made[2].id) == bytes([2]) * 50_000
