"""The permissions of what a disk store and an SQLite index create (issue 15, item 4).

By default files and directories follow the umask, as ``cp`` does; a store's
``mode:`` sets them for group sharing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import provenance as p
from provenance.storage.blobstores import DiskStore
from provenance.storage.specs import build_blobstore

SMALL = "ab" + "0" * 62
BIG = "cd" + "1" * 62


@pytest.fixture
def umask() -> Iterator[Any]:
    """Set the process's umask for the test (restored after it)."""
    old = os.umask(0o022)
    os.umask(old)

    def set_to(mask: int) -> None:
        os.umask(mask)

    yield set_to
    os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fill(store: DiskStore, tmp_path: Path) -> None:
    store.put(SMALL, b"small")
    src = tmp_path / "big.bin"
    src.write_bytes(b"x" * 100_000)
    store.put_file(BIG, src)  # streamed through a staging file
    staged = Path(store.staging_dir() or "") / "staged"
    staged.write_bytes(b"moved")
    os.chmod(staged, 0o600)
    store.put_file("ef" + "2" * 62, staged, move=True)  # the rename path


@pytest.mark.parametrize(("mask", "files", "dirs"), [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)])
def test_blobs_and_directories_follow_the_umask(
    tmp_path: Path, umask: Any, mask: int, files: int, dirs: int
) -> None:
    umask(mask)
    store = DiskStore(tmp_path / "blobs")
    fill(store, tmp_path)
    for key in (SMALL, BIG, "ef" + "2" * 62):
        assert mode_of(Path(store.local_path(key) or "")) == files, key
        assert mode_of(Path(store.local_path(key) or "").parent) == dirs
    assert mode_of(tmp_path / "blobs") == dirs


def test_mode_shares_blobs_with_the_group(tmp_path: Path, umask: Any) -> None:
    umask(0o077)  # the explicit mode wins over the most private umask
    store = build_blobstore(
        "team", {"type": "disk", "cachedir": str(tmp_path / "b"), "mode": "0660"}, {}
    )
    assert isinstance(store, DiskStore) and store.mode == 0o660
    fill(store, tmp_path)
    for key in (SMALL, BIG, "ef" + "2" * 62):
        path = Path(store.local_path(key) or "")
        assert mode_of(path) == 0o660
        # Directories: search where reading is allowed, and set-group-id so
        # colleagues' new files stay in the group.
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o2770
    assert stat.S_IMODE(os.stat(tmp_path / "b").st_mode) == 0o2770
    assert store.spec()["mode"] == 0o660
    again = build_blobstore("team", store.spec(), {})
    assert isinstance(again, DiskStore) and again.mode == 0o660


@pytest.mark.parametrize(
    ("value", "expected"), [(0o640, 0o640), ("640", 0o640), ("0o644", 0o644), (None, None)]
)
def test_mode_values(tmp_path: Path, value: Any, expected: Any) -> None:
    entry = {"type": "disk", "cachedir": str(tmp_path), "mode": value}
    store = build_blobstore("s", entry, {})
    assert isinstance(store, DiskStore) and store.mode == expected


@pytest.mark.parametrize("value", ["rw-rw----", "0999", 0o1777, True, 0o440, 1.5])
def test_bad_modes_name_the_key(tmp_path: Path, value: Any) -> None:
    with pytest.raises(p.ConfigError, match=r"'blobstores\.team\.mode'"):
        p.load_config(
            {
                "blobstores": {"team": {"type": "disk", "cachedir": str(tmp_path), "mode": value}},
                "artifact_repos": {},
            }
        )


def test_a_new_sqlite_index_follows_the_umask(tmp_path: Path, umask: Any) -> None:
    # SQLite makes its files 0644 whatever the umask; a team sharing the index
    # under umask 002 needs it group-writable, as cp would make it.
    umask(0o002)
    cfg = p.load_config(
        {
            "blobstores": {"d": {"type": "disk", "cachedir": str(tmp_path / "blobs")}},
            "artifact_repos": {
                "r": {
                    "type": "sql",
                    "db": f"sqlite:///{tmp_path / 'idx' / 'index.db'}",
                    "store": "d",
                }
            },
            "default_repo": "r",
        }
    )

    @p.provenance()
    def f(x: int) -> int:
        return x

    f(1)
    assert mode_of(tmp_path / "idx" / "index.db") == 0o664
    assert mode_of(tmp_path / "idx") == 0o775
    cfg.repos["r"].index.dispose()
