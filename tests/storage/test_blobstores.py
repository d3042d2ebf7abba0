"""One contract suite for every blobstore backend: memory, disk, chained, S3, fsspec, SFTP."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from provenance.blobstores import Blobstore, ChainedStore, DiskStore, FsspecStore, MemoryStore

from provenance.errors import BlobNotFound, InvalidId, PermissionDenied

K1 = "0" * 32
K2 = "1" * 31 + "a"
K3 = "ab" * 16


def make_store(kind: str, root: str, **flags: Any) -> Blobstore:
    if kind == "memory":
        return MemoryStore(**flags)
    if kind == "disk":
        return DiskStore(os.path.join(root, "blobs"), **flags)
    if kind == "chained":
        return ChainedStore(
            [MemoryStore(), DiskStore(os.path.join(root, "chained"), delete=True)], **flags
        )
    if kind == "s3":
        from s3_server import make_s3_store  # a local moto server, started on first use

        return make_s3_store(**flags)
    if kind == "fsspec-local":
        return FsspecStore("file://" + os.path.join(root, "fsspec"), **flags)
    if kind == "fsspec-memory":
        # fsspec's memory filesystem is one per process: a root of its own per store.
        return FsspecStore(f"memory://{root}/fsspec", **flags)
    if kind == "sftp":
        from ssh_server import make_sftp_store  # a local sshd, started on first use

        return make_sftp_store(**flags)
    raise ValueError(kind)


def plant_staging(store: Blobstore) -> str | None:
    """Leave a 7-byte staging file, two thousand seconds old, where the store stages."""
    then = time.time() - 2000
    staging = store.staging_dir()
    if staging is not None and os.path.isabs(staging):
        os.makedirs(staging, exist_ok=True)
        path = os.path.join(staging, "left-by-a-killed-writer")
        with open(path, "wb") as f:
            f.write(b"partial")
        os.utime(path, (then, then))
        return "left-by-a-killed-writer"
    if isinstance(store, FsspecStore) and store.protocol == "sftp":
        path = f"{store.root}/.tmp/left-by-a-killed-writer"
        store.fs.pipe_file(path, b"partial")
        store.fs.ftp.utime(path, (then, then))
        return "left-by-a-killed-writer"
    return None


KINDS = [
    "memory",
    "disk",
    "chained",
    pytest.param("s3", marks=pytest.mark.s3),
    "fsspec-local",
    "fsspec-memory",
    pytest.param("sftp", marks=pytest.mark.sftp),
]


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Blobstore:
    return make_store(request.param, str(tmp_path), delete=True)


class TestBlobstoreContract:
    def test_put_get_roundtrip(self, store: Blobstore) -> None:
        store.put(K1, b"hello")
        assert store.exists(K1)
        assert K1 in store
        assert store.get(K1) == b"hello"
        assert store.size(K1) == 5

    def test_missing_key(self, store: Blobstore) -> None:
        assert not store.exists(K2)
        with pytest.raises(BlobNotFound) as info:
            store.get(K2)
        assert K2 in str(info.value)
        assert isinstance(info.value, KeyError)

    def test_empty_and_large_blobs(self, store: Blobstore) -> None:
        big = os.urandom(3 << 20)
        store.put(K1, b"")
        store.put(K2, big)
        assert store.get(K1) == b""
        assert store.get(K2) == big
        assert store.size(K2) == len(big)

    def test_put_existing_key_is_skipped_unless_overwrite(self, store: Blobstore) -> None:
        store.put(K1, b"first")
        store.put(K1, b"second")
        assert store.get(K1) == b"first"
        store.put(K1, b"third", overwrite=True)
        assert store.get(K1) == b"third"

    def test_put_file_copy_and_move(self, store: Blobstore, tmp_path: Any) -> None:
        src = tmp_path / "src.bin"
        src.write_bytes(b"x" * 1000)
        store.put_file(K1, src)
        assert src.exists()
        store.put_file(K2, src, move=True)
        assert not src.exists()
        assert store.get(K1) == store.get(K2) == b"x" * 1000

    def test_keys_and_delete(self, store: Blobstore) -> None:
        for k in (K1, K2, K3):
            store.put(k, k.encode())
        assert sorted(store.keys()) == sorted([K1, K2, K3])
        store.delete(K2)
        assert not store.exists(K2)
        store.delete(K2)  # deleting a missing key is fine
        assert sorted(store.keys()) == sorted([K1, K3])

    def test_keys_with_extension(self, store: Blobstore) -> None:
        key = K3 + ".png"
        store.put(key, b"png")
        assert store.get(key) == b"png"
        assert key in set(store.keys())

    @pytest.mark.parametrize(
        "bad", ["../../etc/passwd", "", "ABCDEF" * 6, "0" * 31, K1 + "/x", K1 + "..", None, 5]
    )
    def test_invalid_keys_rejected_before_storage(self, store: Blobstore, bad: Any) -> None:
        with pytest.raises(InvalidId):
            store.get(bad)
        with pytest.raises(InvalidId):
            store.put(bad, b"x")
        assert list(store.keys()) == []

    def test_batch_operations(self, store: Blobstore) -> None:
        store.put_many([(K1, b"1"), (K2, b"2")])
        assert store.exists_many([K1, K2, K3]) == {K1: True, K2: True, K3: False}
        assert store.get_many([K2, K1]) == {K2: b"2", K1: b"1"}

    def test_copy_to_other_store(self, store: Blobstore, tmp_path: Any) -> None:
        store.put(K1, b"one")
        store.put(K2, b"two")
        dest = DiskStore(tmp_path / "dest")
        dest.put(K2, b"two")
        assert store.copy_to(dest, [K1, K2]) == [K1]
        assert dest.get(K1) == b"one"

    def test_open_local_gives_a_readable_file(self, store: Blobstore) -> None:
        store.put(K1, b"abc")
        with store.open_local(K1) as path, open(path, "rb") as f:
            assert f.read() == b"abc"

    def test_stale_staging_is_listed_and_removed(self, store: Blobstore) -> None:
        # A writer killed mid-write leaves its staging file: listed with its
        # size and age, and removed once older than the caller's grace period.
        left = plant_staging(store)
        if left is None:
            pytest.skip(f"a {store.kind} store stages nothing where a killed writer leaves it")
        store.put(K1, b"blob")
        assert store.staging(older_than=3600) == []
        (stale,) = store.staging(older_than=60)
        assert stale.path.endswith(left) and stale.size == 7 and stale.age > 1900
        assert store.remove_staging([stale]) == 7
        assert store.staging() == [] and store.get(K1) == b"blob"

    def test_concurrent_writers_of_one_key(self, store: Blobstore) -> None:
        data = os.urandom(1 << 20)
        errors: list[BaseException] = []

        def write() -> None:
            try:
                store.put(K1, data)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert store.get(K1) == data


@pytest.mark.parametrize("kind", KINDS)
def test_flags_are_enforced(kind: str, tmp_path: Any) -> None:
    ro = make_store(kind, str(tmp_path), write=False, delete=False)
    with pytest.raises(PermissionDenied, match="write"):
        ro.put(K1, b"x")
    with pytest.raises(PermissionDenied, match="delete"):
        ro.delete(K1)
    no_read = make_store(kind, str(tmp_path / "b"), read=False)
    with pytest.raises(PermissionDenied, match="read"):
        no_read.get(K1)


def test_disk_store_never_exposes_partial_blobs(tmp_path: Any) -> None:
    store = DiskStore(tmp_path / "s")
    store.put(K1, b"complete")
    # A writer killed mid-write leaves only a temporary file, which is not a key.
    with open(os.path.join(store.staging_dir() or "", "leftover"), "wb") as f:
        f.write(b"partial")
    assert list(store.keys()) == [K1]
    assert store.get(K1) == b"complete"


def test_disk_store_layout_is_sharded(tmp_path: Any) -> None:
    store = DiskStore(tmp_path / "s")
    store.put(K3, b"x")
    assert (tmp_path / "s" / "ab" / K3[2:]).read_bytes() == b"x"


def test_chained_store_reads_through(tmp_path: Any) -> None:
    front = MemoryStore()
    back = DiskStore(tmp_path / "back")
    back.put(K1, b"remote")
    chained = ChainedStore([front, back])
    assert not front.exists(K1)
    assert chained.get(K1) == b"remote"
    assert front.get(K1) == b"remote"


def test_chained_store_writes_everywhere(tmp_path: Any) -> None:
    a, b = MemoryStore(), DiskStore(tmp_path / "b")
    chained = ChainedStore([a, b])
    chained.put(K1, b"v")
    assert a.get(K1) == b.get(K1) == b"v"


keys = st.text("0123456789abcdef", min_size=32, max_size=32)


class StoreMachine(RuleBasedStateMachine):
    """A blobstore behaves like a dict of key to bytes (first write wins)."""

    kind = "disk"

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.tmp = tempfile.mkdtemp()
        self.store = make_store(self.kind, self.tmp, delete=True)
        self.model: dict[str, bytes] = {}

    @rule(key=keys, data=st.binary(max_size=64))
    def put(self, key: str, data: bytes) -> None:
        self.store.put(key, data)
        self.model.setdefault(key, data)

    @rule(key=keys, data=st.binary(max_size=64))
    def overwrite(self, key: str, data: bytes) -> None:
        self.store.put(key, data, overwrite=True)
        self.model[key] = data

    @rule(key=keys)
    def delete(self, key: str) -> None:
        self.store.delete(key)
        self.model.pop(key, None)

    @rule(key=keys)
    def get(self, key: str) -> None:
        if key in self.model:
            assert self.store.get(key) == self.model[key]
        else:
            with pytest.raises(BlobNotFound):
                self.store.get(key)

    @invariant()
    def same_keys(self) -> None:
        assert sorted(self.store.keys()) == sorted(self.model)

    def teardown(self) -> None:
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)


class MemoryStoreMachine(StoreMachine):
    kind = "memory"


class ChainedStoreMachine(StoreMachine):
    kind = "chained"


TestDiskStoreModel = StoreMachine.TestCase
TestMemoryStoreModel = MemoryStoreMachine.TestCase
TestChainedStoreModel = ChainedStoreMachine.TestCase
for case in (TestDiskStoreModel, TestMemoryStoreModel, TestChainedStoreModel):
    case.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)


class S3StoreMachine(StoreMachine):
    kind = "s3"


TestS3StoreModel = pytest.mark.s3(S3StoreMachine.TestCase)
TestS3StoreModel.settings = settings(max_examples=5, stateful_step_count=15, deadline=None)


class FsspecLocalStoreMachine(StoreMachine):
    kind = "fsspec-local"


class FsspecMemoryStoreMachine(StoreMachine):
    kind = "fsspec-memory"


class SftpStoreMachine(StoreMachine):
    kind = "sftp"


TestFsspecLocalStoreModel = FsspecLocalStoreMachine.TestCase
TestFsspecMemoryStoreModel = FsspecMemoryStoreMachine.TestCase
for case in (TestFsspecLocalStoreModel, TestFsspecMemoryStoreModel):
    case.settings = settings(max_examples=20, stateful_step_count=20, deadline=None)
TestSftpStoreModel = pytest.mark.sftp(SftpStoreMachine.TestCase)
TestSftpStoreModel.settings = settings(max_examples=5, stateful_step_count=15, deadline=None)
