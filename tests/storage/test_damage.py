"""Damage and outages are named, never silent (issue 15, item 7).

A zero-length index beside stored blobs is refused (and so never handed to
gc), a malformed index, a full disk and a PostgreSQL outage raise
:class:`provenance.StorageError` subclasses naming the file or the server
(without its password), chained to the original exception.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import provenance as p
from provenance import recording

RUNS: list[int] = []


@p.provenance(name="big")
def big(n: int) -> bytes:
    RUNS.append(n)
    return bytes(range(256)) * n


def config(root: Path, db: str | None = None) -> dict[str, Any]:
    return {
        "blobstores": {"disk": {"type": "disk", "cachedir": str(root / "blobs"), "delete": True}},
        "artifact_repos": {
            "r": {
                "type": "sql",
                "db": db or f"sqlite:///{root / 'index.db'}",
                "store": "disk",
                "delete": True,
            }
        },
        "default_repo": "r",
    }


def filled(root: Path) -> None:
    """A repo at ``root`` with blobs, closed."""
    p.load_config(config(root))
    big(100)
    big(200)
    recording.flush()
    recording.end_implicit_runs()
    p.get_default_repo().index.dispose()
    p.set_default_repo(None)


def test_a_zero_length_index_beside_blobs_is_refused(tmp_path: Path) -> None:
    filled(tmp_path)
    index = tmp_path / "index.db"
    index.write_bytes(b"")  # truncated: a full disk, a bad copy
    blobs = sorted(str(k) for k in (tmp_path / "blobs").rglob("*") if k.is_file())
    with pytest.raises(p.IndexDamaged, match=f"{index}.*zero-length.*holds blobs") as info:
        p.load_config(config(tmp_path))
    assert isinstance(info.value, p.StorageError) and isinstance(info.value, p.ProvenanceError)
    assert index.stat().st_size == 0  # nothing was written to it
    # gc never runs on it: the config that would hand it over does not load.
    with pytest.raises(p.IndexDamaged):
        p.gc(p.load_config(config(tmp_path)).repos["r"], dry_run=False, grace_period=0)
    assert sorted(str(k) for k in (tmp_path / "blobs").rglob("*") if k.is_file()) == blobs


def test_a_zero_length_index_beside_no_blobs_is_a_new_index(tmp_path: Path) -> None:
    (tmp_path / "index.db").write_bytes(b"")
    p.load_config(config(tmp_path))
    assert big(1) == bytes(range(256))
    assert p.get_default_repo().index.count() == 1


def test_a_malformed_index_is_named(tmp_path: Path) -> None:
    filled(tmp_path)
    index = tmp_path / "index.db"
    index.write_bytes(b"this is not an SQLite database, it was overwritten" * 100)
    with pytest.raises(p.IndexDamaged, match=f"the index {index} is damaged") as info:
        p.load_config(config(tmp_path))
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


def test_an_index_damaged_after_opening_is_named(tmp_path: Path) -> None:
    filled(tmp_path)
    p.load_config(config(tmp_path))
    p.get_default_repo().index.dispose()
    index = tmp_path / "index.db"
    data = bytearray(index.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)  # every page after the header
    index.write_bytes(bytes(data))
    with pytest.raises(p.IndexDamaged, match=str(index)) as info:
        big(100)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs, mounted for the test."""
    path = tmp_path / "small"
    path.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {exc}")
    yield path
    p.set_default_repo(None)
    subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_is_named_with_its_path(tmp_path: Path, small_disk: Path) -> None:
    cfg = config(small_disk)
    cfg["artifact_repos"]["r"]["db"] = f"sqlite:///{tmp_path / 'index.db'}"
    p.load_config(cfg)
    RUNS.clear()
    with pytest.raises(p.StorageFull, match=f"no space left.*{small_disk / 'blobs'}") as info:
        big(8 * 1024)  # 2 MB
    assert RUNS == [8 * 1024]
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert str(small_disk / "blobs") in str(info.value.filename)
    assert isinstance(info.value.__cause__, OSError) and info.value.__cause__.errno == errno.ENOSPC


def test_a_full_disk_under_the_index_is_named(tmp_path: Path, small_disk: Path) -> None:
    cfg = config(tmp_path)
    index = small_disk / "index.db"
    cfg["artifact_repos"]["r"]["db"] = f"sqlite:///{index}"
    p.load_config(cfg)
    big(1)
    filler = small_disk / "filler"
    with pytest.raises(OSError), open(filler, "wb", buffering=0) as f:
        while True:
            f.write(b"\0" * 4096)

    @p.provenance()
    def wide(i: int) -> str:
        return str(i) * 1000  # inline: the row is what needs the space

    with pytest.raises(p.StorageFull, match=f"index {index}") as info:
        for i in range(1000):
            wide(i)
    assert info.value.errno == errno.ENOSPC and isinstance(info.value.__cause__, Exception)
    filler.unlink()
    recording.flush()
    p.get_default_repo().index.dispose()


@pytest.mark.postgres
def test_a_postgres_outage_is_named_before_the_function_runs(
    postgres_server: Any, postgres_url: str, tmp_path: Path
) -> None:
    url = postgres_url.replace("provenance@", "provenance:s3cret@")
    p.load_config(config(tmp_path, db=url))
    RUNS.clear()
    assert big(3) == bytes(range(256)) * 3
    server = f"127.0.0.1:{postgres_server.port}"
    postgres_server.pause()
    try:
        with pytest.raises(p.IndexUnavailable, match=f"index server .*{server}") as info:
            big(4)  # the lookup fails first
        assert RUNS == [3]
        assert "s3cret" not in str(info.value) and "***" in str(info.value)
        assert isinstance(info.value, ConnectionError)
        assert type(info.value.__cause__).__module__.startswith("psycopg")
        with pytest.raises(p.IndexUnavailable, match=server):
            p.get_default_repo().find_artifacts()
        with pytest.raises(p.IndexUnavailable, match=server):
            p.load_config(config(tmp_path / "other", db=url))
    finally:
        postgres_server.resume()
    # Back up: the same repo works again.
    assert big(4) == bytes(range(256)) * 4 and RUNS == [3, 4]
    assert big(3) == bytes(range(256)) * 3 and RUNS == [3, 4]
    recording.flush()
