"""Reading values back: npy streamed into the array and verified as it is read, or mapped."""

from __future__ import annotations

import os
import pickle
from typing import Any

import pytest
from conftest import sqlite_config

import provenance as p
from provenance.hashing import hash_bytes
from provenance.storage.repos import build_repo_from_spec
from provenance.storage.spill import HashingReader, HashingSpill

np = pytest.importorskip("numpy")

N = 300_000  # float64: a blob of its own, not the row


def _blob_path(artifact: Any) -> str:
    path = artifact.repo.blobstore.local_path(artifact.blob_id)
    assert path is not None and os.path.exists(path)
    return str(path)


def _stored(value: Any, **options: Any) -> Any:
    @p.provenance(**options)
    def make(key: str) -> Any:
        return value

    made = make(repr(options) + str(value.shape) + value.dtype.str)
    assert made.artifact.serializer == "npy" and made.artifact._row is not None
    return made.artifact


@pytest.mark.parametrize(
    "value",
    [
        np.arange(N, dtype="float64"),
        np.asfortranarray(np.arange(N, dtype="int32").reshape(600, 500)),
        np.arange(N, dtype=">f8").reshape(3, -1),
        np.zeros((N, 0)),
        (np.arange(N) % 3 == 0),
    ],
    ids=["float64", "fortran", "big endian", "no elements", "bool"],
)
def test_a_streamed_array_reads_back_equal(disk_repo: Any, value: Any) -> None:
    artifact = _stored(value)
    back = p.load_artifact(artifact.id).value
    assert type(back) is np.ndarray and back.flags.writeable
    assert back.dtype.str == value.dtype.str and back.shape == value.shape
    assert back.flags.f_contiguous == value.flags.f_contiguous
    assert np.array_equal(back, value)


def _damage(path: str, how: str) -> None:
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        if how == "flipped data":
            f.seek(-100, os.SEEK_END)
            f.write(b"\x00\xff\x00\xff")
        elif how == "flipped header":
            f.seek(20)
            f.write(b"\xff\xff")
        elif how == "truncated":
            f.truncate(os.path.getsize(path) // 2)
        elif how == "appended":
            f.seek(0, os.SEEK_END)
            f.write(b"extra")


@pytest.mark.parametrize("how", ["flipped data", "flipped header", "truncated", "appended"])
def test_a_damaged_npy_blob_raises_corrupt_blob_naming_it(disk_repo: Any, how: str) -> None:
    artifact = _stored(np.arange(N, dtype="float64") + len(how))
    _damage(_blob_path(artifact), how)
    with pytest.raises(p.CorruptBlob, match=artifact.blob_id) as info:
        p.load_artifact(artifact.id).value  # noqa: B018
    assert artifact.id in str(info.value)


def test_a_mapped_array_is_read_only_and_right(disk_repo: Any) -> None:
    value = np.arange(N, dtype="float64")
    artifact = _stored(value, load_kwargs={"mmap_mode": "r"})
    back = p.load_artifact(artifact.id).value
    assert isinstance(back, np.memmap) and not back.flags.writeable
    assert os.path.samefile(back.filename, _blob_path(artifact))  # the blob itself, not a copy
    assert np.array_equal(back, value)
    with pytest.raises(ValueError, match="read-only"):
        back[0] = 1.0


def test_a_copy_on_write_map_never_changes_the_blob(disk_repo: Any) -> None:
    value = np.arange(N, dtype="float64")
    artifact = _stored(value, load_kwargs={"mmap_mode": "c"})
    back = p.load_artifact(artifact.id).value
    back[:10] = -1.0  # in this process's memory only
    del back
    again = p.load_artifact(artifact.id).value
    assert np.array_equal(again, value)
    assert p.verify().ok


def test_a_truncated_mapped_blob_is_caught_by_its_size(disk_repo: Any) -> None:
    artifact = _stored(np.arange(N, dtype="float64"), load_kwargs={"mmap_mode": "r"})
    _damage(_blob_path(artifact), "truncated")
    with pytest.raises(p.CorruptBlob, match="bytes where"):
        p.load_artifact(artifact.id).value  # noqa: B018


def test_a_mapped_blob_changed_in_place_is_found_by_verify(disk_repo: Any) -> None:
    # A map is not hashed when it is made (that would read it all): verify is what checks it.
    artifact = _stored(np.arange(N, dtype="float64"), load_kwargs={"mmap_mode": "r"})
    _damage(_blob_path(artifact), "flipped data")
    p.load_artifact(artifact.id).value  # noqa: B018
    report = p.verify()
    assert [problem.artifact_id for problem in report.problems] == [artifact.id]


@pytest.mark.parametrize("mode", ["r+", "w+", "rw", 1])
def test_a_map_that_could_write_is_refused_when_decorated(disk_repo: Any, mode: Any) -> None:
    with pytest.raises(p.InvalidValue, match=r"load_kwargs\['mmap_mode'\]"):
        p.provenance(load_kwargs={"mmap_mode": mode})(lambda: None)


def test_the_repo_default_maps_npy_values(tmp_path: Any) -> None:
    cfg = p.load_config(sqlite_config(str(tmp_path / "repo"), mmap_mode="r"))
    repo = cfg.repos[cfg.default_repo]
    assert repo.mmap_mode == "r"
    value = np.arange(N, dtype="float64")
    mapped = _stored(value)
    unmapped = _stored(value + 1, load_kwargs={"mmap_mode": None})
    back = p.load_artifact(mapped.id).value
    assert isinstance(back, np.memmap) and not back.flags.writeable
    assert np.array_equal(back, value)
    own = p.load_artifact(unmapped.id).value
    assert type(own) is np.ndarray and np.array_equal(own, value + 1)

    @p.provenance()
    def listed() -> list[int]:
        return list(range(5000))  # joblib: the setting is not for it

    made = listed()
    assert p.load_artifact(made.artifact.id).value == list(range(5000))
    # Worker processes rebuild the repo from its spec, setting included.
    assert build_repo_from_spec(pickle.loads(pickle.dumps(repo.spec()))).mmap_mode == "r"


@pytest.mark.parametrize("mode", ["r+", "w+", "read", True])
def test_a_bad_repo_mmap_mode_is_refused_naming_the_key(tmp_path: Any, mode: Any) -> None:
    with pytest.raises(p.ConfigError, match=r"'artifact_repos\.local\.mmap_mode' must be 'r'"):
        p.load_config(sqlite_config(str(tmp_path / "repo"), mmap_mode=mode))


def test_a_chained_repo_has_no_mmap_mode(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "repo"))
    cfg["artifact_repos"]["both"] = {"type": "chained", "repos": ["local"], "mmap_mode": "r"}
    with pytest.raises(p.ConfigError, match="unknown key 'artifact_repos.both.mmap_mode'"):
        p.load_config(cfg)


def test_the_reader_hashes_what_it_reads_and_what_is_left(tmp_path: Any) -> None:
    data = os.urandom(3 << 20) + b"tail"
    path = tmp_path / "blob"
    path.write_bytes(data)
    with open(path, "rb", buffering=0) as raw:
        reader = HashingReader(raw)
        head = reader.read(10)
        middle = bytearray(2 << 20)
        assert reader.readinto(middle) == len(middle)
        digest = reader.finish()  # the rest, unread, is hashed too
    assert head + bytes(middle) == data[: 10 + len(middle)]
    assert digest == hash_bytes(data)


def test_a_large_write_hashed_in_a_second_thread_hashes_the_same(tmp_path: Any) -> None:
    big = os.urandom(1 << 20) * 40  # above the size hashed beside the write
    with HashingSpill(4096, str(tmp_path)) as out:
        out.write(b"head")
        out.write(big)
        out.write(b"tail")
        digest, size = out.hexdigest(), out.size
        out.close()
        assert out.path is not None
        with open(out.path, "rb") as f:
            assert f.read() == b"head" + big + b"tail"
    assert size == len(big) + 8
    assert digest == hash_bytes(b"head" + big + b"tail")


def test_a_large_read_hashed_in_a_second_thread_hashes_the_same(tmp_path: Any) -> None:
    # Above the size whose pieces are hashed beside the read, with a tail
    # that ends a piece early, and a file shorter than the buffer.
    data = os.urandom(1 << 20) * 37 + b"tail"
    path = tmp_path / "blob"
    path.write_bytes(data)
    with open(path, "rb", buffering=0) as raw:
        reader = HashingReader(raw)
        head = reader.read(3)
        buffer = bytearray(len(data) + (5 << 20))
        got = reader.readinto(buffer)
        assert got == len(data) - 3 and reader.size == len(data)
        digest = reader.finish()
    assert head + bytes(buffer[:got]) == data
    assert digest == hash_bytes(data)


def test_a_damaged_large_npy_blob_is_caught_while_streaming(disk_repo: Any) -> None:
    value = np.arange(5 << 20, dtype="float64")  # 40 MB: hashed beside the read
    artifact = _stored(value)
    back = p.load_artifact(artifact.id).value
    assert np.array_equal(back, value)
    _damage(_blob_path(artifact), "flipped data")
    with pytest.raises(p.CorruptBlob, match=artifact.blob_id):
        p.load_artifact(artifact.id).value  # noqa: B018


def test_preallocating_keeps_the_file_size(tmp_path: Any) -> None:
    from provenance.storage.spill import preallocate

    path = tmp_path / "f"
    with open(path, "wb") as f:
        f.write(b"abc")
        f.flush()
        preallocate(f.fileno(), 3, 10 << 20)  # blocks reserved, size unchanged
        assert os.fstat(f.fileno()).st_size == 3
        f.write(b"def")
    assert path.read_bytes() == b"abcdef"
