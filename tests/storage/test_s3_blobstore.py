"""The S3 blobstore against a real S3-protocol server (moto, over HTTP on 127.0.0.1).

The blobstore contract suite in ``test_blobstores.py`` runs on it too; these
tests cover what is particular to S3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
from provenance.blobstores import DiskStore

import provenance as p
from provenance.errors import BlobNotFound, ConfigError
from provenance.repos import Repository
from provenance.storage.blobstores import s3 as s3_blobstore
from provenance.storage.blobstores.s3 import S3Store
from provenance.storage.index import SqlIndex

if TYPE_CHECKING:
    from s3_server import S3Server

pytestmark = pytest.mark.s3
# The s3_server and s3_bucket fixtures.  Registered as a plugin (not imported
# before it) so that pytest rewrites the asserts of the helper module too.
pytest_plugins = ["s3_server"]


def make_s3_store(**kwargs: Any) -> S3Store:
    from s3_server import make_s3_store

    store: S3Store = make_s3_store(**kwargs)
    return store


K1 = "0" * 32
K2 = "1" * 31 + "a"
K3 = "ab" * 16


def test_addressing_and_spec(s3_server: S3Server, s3_bucket: str) -> None:
    store = S3Store(basepath=f"s3://{s3_bucket}/some/prefix/", endpoint_url=s3_server.endpoint_url)
    assert (store.bucket, store.prefix, store.root) == (
        s3_bucket,
        "some/prefix",
        f"s3://{s3_bucket}/some/prefix",
    )
    store.put(K1, b"x")
    head = s3_server.client.head_object(Bucket=s3_bucket, Key=f"some/prefix/{K1}")
    assert head["ContentLength"] == 1
    spec = store.spec()
    assert spec["type"] == "s3" and spec["bucket"] == s3_bucket and spec["prefix"] == "some/prefix"
    again = S3Store(**{k: v for k, v in spec.items() if k != "type"})
    assert again.get(K1) == b"x"
    with pytest.raises(ConfigError, match="basepath"):
        S3Store(bucket="b", basepath="s3://b/p")
    with pytest.raises(ConfigError, match="bucket"):
        S3Store()


def test_spec_rebuilds_the_store_in_another_process(s3_server: S3Server) -> None:
    store = make_s3_store()
    store.put(K2, b"from the parent")
    code = (
        "import json, sys\n"
        "from provenance.storage.blobstores.s3 import S3Store\n"
        "spec = json.loads(sys.argv[1]); spec.pop('type')\n"
        f"store = S3Store(**spec); store.put({K3!r}, store.get({K2!r}) + b' and the child')\n"
    )
    subprocess.run([sys.executable, "-c", code, json.dumps(store.spec())], check=True)
    assert store.get(K3) == b"from the parent and the child"


def test_put_if_absent_uses_a_conditional_put(s3_server: S3Server) -> None:
    store = make_s3_store()
    store.put(K1, b"first")
    store.put(K1, b"second")
    assert store.get(K1) == b"first"
    # moto, like S3, answers If-None-Match: * with 412 when the key exists.
    assert store.s3._transfer.conditional_writes is True
    store.put_many([(K1, b"third"), (K2, b"two")])
    assert store.get_many([K1, K2]) == {K1: b"first", K2: b"two"}
    store.put_many([(K1, b"forced")], overwrite=True)
    assert store.get(K1) == b"forced"


def test_a_skipped_put_counts_as_a_write(s3_server: S3Server, tmp_path: Any) -> None:
    store = make_s3_store()
    store.put(K1, b"v")
    bucket, key = store.bucket, f"{store.prefix}/{K1}"
    first = s3_server.client.head_object(Bucket=bucket, Key=key)["LastModified"]
    assert 0 <= (store.age(K1) or 0) < 60
    time.sleep(1.1)  # S3 times have a resolution of one second
    store.put(K1, b"v")  # skipped, but gc must see it as recent
    src = tmp_path / "f"
    src.write_bytes(b"v")
    store.put_file(K1, src)
    second = s3_server.client.head_object(Bucket=bucket, Key=key)["LastModified"]
    assert second > first
    assert store.get(K1) == b"v"
    assert store.age(K2) is None


def test_missing_blobs(s3_server: S3Server) -> None:
    store = make_s3_store()
    with pytest.raises(BlobNotFound) as info:
        store.get(K2)
    assert K2 in str(info.value)
    with pytest.raises(BlobNotFound):
        store.get_many([K2])
    with pytest.raises(BlobNotFound):
        store.size(K2)
    with pytest.raises(BlobNotFound), store.open_local(K2):
        pass


def test_keys_ignore_foreign_objects(s3_server: S3Server, s3_bucket: str) -> None:
    store = S3Store(s3_bucket, "blobs", endpoint_url=s3_server.endpoint_url)
    store.put(K1, b"1")
    store.put(K3 + ".png", b"png")
    for foreign in ("blobs/README.txt", "blobs/sub/" + K2, "blobs", "other/" + K2, "blobsX/" + K2):
        s3_server.client.put_object(Bucket=s3_bucket, Key=foreign, Body=b"not a blob")
    assert sorted(store.keys()) == sorted([K1, K3 + ".png"])
    bare = S3Store(s3_bucket, "", endpoint_url=s3_server.endpoint_url)
    assert list(bare.keys()) == []  # blobs live under "blobs/", not at the top


def test_read_cache(s3_server: S3Server, tmp_path: Any) -> None:
    cache = tmp_path / "cache"
    store = make_s3_store(cachedir=str(cache), delete=True)
    store.put(K1, b"cached")
    assert store.local_path(K1) is None  # a write does not fill the cache
    assert store.get(K1) == b"cached"
    path = store.local_path(K1)
    assert path is not None
    with open(path, "rb") as f:
        assert f.read() == b"cached"
    with store.open_local(K1) as local:
        assert local == path
    # Reads are served locally now: the bucket no longer needs to answer.
    s3_server.client.delete_object(Bucket=store.bucket, Key=f"{store.prefix}/{K1}")
    assert store.get(K1) == b"cached"
    assert not store.exists(K1)  # but existence is the bucket's
    store.put(K1, b"replaced", overwrite=True)
    assert store.local_path(K1) is None and store.get(K1) == b"replaced"
    store.delete(K1)
    assert store.local_path(K1) is None and not store.exists(K1)
    # A staged file moved into the store becomes its cached copy.
    staged = os.path.join(store.staging_dir() or "", "staged")
    with open(staged, "wb") as f:
        f.write(b"staged")
    store.put_file(K2, staged, move=True)
    assert not os.path.exists(staged) and store.local_path(K2) is not None
    assert store.get(K2) == b"staged"
    leftovers = [n for n in os.listdir(cache / ".tmp") if not n.startswith("provenance.s3.")]
    assert leftovers == []


def test_open_local_streams_to_a_temporary_file(s3_server: S3Server) -> None:
    store = make_s3_store()
    big = os.urandom(5 << 20)
    store.put(K1, big)
    with store.open_local(K1) as path:
        assert os.path.getsize(path) == len(big)
        with open(path, "rb") as f:
            assert f.read() == big
    assert not os.path.exists(path)


def test_batch_operations_and_copies(
    s3_server: S3Server, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_blobstore, "_BATCH", 16)  # copies go a batch at a time
    keys = [f"{i:032x}" for i in range(40)]
    src = make_s3_store()
    src.put_many([(k, k.encode()) for k in keys])
    assert src.exists_many([K3, *keys]) == {K3: False, **dict.fromkeys(keys, True)}
    assert src.get_many(keys[::-1]) == {k: k.encode() for k in keys[::-1]}
    # S3 to S3: parallel downloads and uploads, existing keys skipped.
    dest = make_s3_store()
    dest.put(keys[0], keys[0].encode())
    assert src.copy_to(dest, keys) == keys[1:]
    assert dest.get_many(keys) == src.get_many(keys)
    # S3 to disk, and disk back to S3.
    disk = DiskStore(tmp_path / "disk")
    assert src.copy_to(disk, keys[:10]) == keys[:10]
    assert disk.get(keys[3]) == keys[3].encode()
    third = make_s3_store()
    assert disk.copy_to(third, keys[:10]) == keys[:10]
    assert third.get_many(keys[:10]) == {k: k.encode() for k in keys[:10]}


def test_a_repository_on_s3(s3_server: S3Server, tmp_path: Any) -> None:
    store = make_s3_store(cachedir=str(tmp_path / "cache"))
    repo = Repository(SqlIndex(f"sqlite:///{tmp_path / 'index.db'}"), store, name="s3")
    p.set_default_repo(repo)
    calls = []

    @p.provenance()
    def make(n: int) -> bytes:
        calls.append(n)
        return bytes(range(256)) * n  # over the inline limit: stored as a blob

    first = make(100)
    again = make(100)
    assert calls == [100] and bytes(again) == bytes(first)
    assert first.artifact.blob_id in set(store.keys())
    assert p.load_proxy(first.artifact.id).artifact.id == first.artifact.id


def test_boto3_is_imported_only_when_a_store_is_used() -> None:
    code = (
        "import sys\n"
        "from provenance.storage.blobstores.s3 import S3Store\n"
        "store = S3Store('bucket', 'prefix', endpoint_url='http://127.0.0.1:9')\n"
        "assert 'boto3' not in sys.modules, 'imported too early'\n"
        "store.s3\n"
        "assert 'boto3' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
