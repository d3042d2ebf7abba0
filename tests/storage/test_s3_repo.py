"""Repos whose values live in S3 (the local moto server): decorator, promotion, files."""

from __future__ import annotations

import os
from typing import Any

import pytest
from conftest import sqlite_config

import provenance as p

pytest_plugins = ["s3_server"]
pytestmark = pytest.mark.s3


def s3_config(server: Any, bucket: str, root: str, db: str | None = None) -> dict[str, Any]:
    cfg = sqlite_config(root)
    cfg["blobstores"]["s3"] = {
        "type": "s3",
        "bucket": bucket,
        "prefix": "team/blobs",
        "endpoint_url": server.endpoint_url,
        "delete": True,
    }
    cfg["artifact_repos"]["team"] = {
        "type": "sql",
        "db": db or f"sqlite:///{os.path.join(root, 'team.db')}",
        "store": "s3",
    }
    return cfg


@p.provenance()
def big(n: int) -> bytes:
    return bytes([n % 256]) * 50_000


@p.provenance()
def count(data: Any) -> int:
    return len(data)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def team_config(
    request: pytest.FixtureRequest, s3_server: Any, s3_bucket: str, tmp_path: Any
) -> dict[str, Any]:
    db = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return s3_config(s3_server, s3_bucket, str(tmp_path), db)


def test_decorator_with_s3_values(team_config: dict[str, Any], s3_server: Any) -> None:
    team_config["default_repo"] = "team"
    cfg = p.load_config(team_config)
    data = big(3)
    n = count(data)
    assert n == 50_000
    store = cfg.blobstores["s3"]
    assert data.artifact.blob_id in set(store.keys())
    listed = s3_server.client.list_objects_v2(Bucket=store.bucket, Prefix="team/blobs/")
    assert any(o["Key"].endswith(data.artifact.blob_id) for o in listed.get("Contents", []))
    assert p.load_proxy(data.artifact.id) == bytes([3]) * 50_000
    assert p.verify().ok
    # A cache hit reads the value back from S3.
    p.load_config(team_config)
    assert big(3) == data


def test_promote_from_disk_to_s3(team_config: dict[str, Any]) -> None:
    cfg = p.load_config(team_config)  # default: the local SQLite + disk repo
    n = count(big(7))
    copied = p.promote(n, "team")
    assert len(copied) == 2
    with p.using_repo("team"):
        assert p.load_proxy(n.artifact.id) == 50_000
        parent = p.load_artifact(n.artifact.input_artifact_ids[0])
        assert parent.value == bytes([7]) * 50_000
    assert p.promote(n, "team") == []
    assert cfg.repos["team"].index.count() == 2


def test_archive_file_in_s3(team_config: dict[str, Any], tmp_path: Any) -> None:
    team_config["default_repo"] = "team"
    p.load_config(team_config)
    src = tmp_path / "weights.bin"
    src.write_bytes(os.urandom(100_000))
    archived = p.archive_file(src, preserve_ext=True, delete_original=True)
    assert not src.exists()
    path = os.fspath(archived)  # materialized from S3 on demand
    assert path.endswith(".bin")
    assert os.path.getsize(archived) == 100_000


def test_chained_store_keeps_what_it_reads(s3_server: Any, s3_bucket: str, tmp_path: Any) -> None:
    cfg = s3_config(s3_server, s3_bucket, str(tmp_path))
    cfg["blobstores"]["cache"] = {"type": "disk", "cachedir": str(tmp_path / "cache")}
    cfg["blobstores"]["both"] = {"type": "chained", "stores": ["cache", "s3"]}
    cfg["artifact_repos"]["team"]["store"] = "s3"
    cfg["artifact_repos"]["fast"] = {
        "type": "sql", "db": cfg["artifact_repos"]["team"]["db"], "store": "both",
    }  # fmt: skip
    cfg["default_repo"] = "team"
    objs = p.load_config(cfg)
    made = big(9)
    cache = objs.blobstores["cache"]
    assert not cache.exists(made.artifact.blob_id)
    with p.using_repo("fast"):
        assert p.load_proxy(made.artifact.id) == made
    assert cache.exists(made.artifact.blob_id)


def test_s3_config_errors_name_the_key(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path))
    cfg["blobstores"]["s3"] = {"type": "s3", "prefix": "x"}
    with pytest.raises(p.ConfigError, match="blobstores.s3.bucket"):
        p.load_config(cfg)
    cfg["blobstores"]["s3"] = {"type": "s3", "bucket": "b", "s3_config": "fast"}
    with pytest.raises(p.ConfigError, match="blobstores.s3.s3_config"):
        p.load_config(cfg)
