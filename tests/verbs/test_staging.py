"""Staging files of killed writers: reported by verify, removed by gc (issue 15, item 5).

A real writer process is killed with SIGKILL while it streams a big value
into its staging file; the leftover survives until ``gc`` runs after the
grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import provenance as p

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import sys, time
    import provenance as p

    def dump_to(value, f):
        # A big value streamed into the staging file, then a stall: the
        # process is killed mid-write.
        for _ in range(value):
            f.write(b"x" * (1 << 20))
        f.flush()
        print("staging", flush=True)
        time.sleep(60)

    def dump(value, path):
        with open(path, "wb") as f:
            dump_to(value, f)

    p.register_serializer("slow", dump, lambda path: None, dump_to=dump_to)

    p.load_config({
        "blobstores": {"disk": {"type": "disk", "cachedir": sys.argv[1] + "/blobs"}},
        "artifact_repos": {"r": {"type": "sql", "db": "sqlite:///" + sys.argv[1] + "/index.db",
                                 "store": "disk"}},
        "default_repo": "r",
    })

    @p.provenance(serializer="slow")
    def big(n):
        return n

    big(int(sys.argv[2]))
    """
)


def kill_a_writer(root: Path, megabytes: int = 20) -> None:
    """Start a process writing a big value into ``root``; SIGKILL it mid-write."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(megabytes)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "staging"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def deletable(root: Path) -> dict[str, Any]:
    """A config of the repo at ``root``, allowed to delete (as gc needs)."""
    store = {"type": "disk", "cachedir": str(root / "blobs"), "delete": True}
    index = {"type": "sql", "db": f"sqlite:///{root / 'index.db'}", "store": "disk"}
    return {
        "blobstores": {"disk": store},
        "artifact_repos": {"r": {**index, "delete": True}},
        "default_repo": "r",
    }


def age(paths: list[Path], seconds: float) -> None:
    then = time.time() - seconds
    for path in paths:
        for sub in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.utime(sub, (then, then))


def test_gc_removes_what_killed_writers_left_after_the_grace_period(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for _ in range(3):
        kill_a_writer(root)
    staging = root / "blobs" / ".tmp"
    left = list(staging.iterdir())
    assert len(left) == 3 and all(f.stat().st_size >= 20 << 20 for f in left)
    cfg = p.load_config(deletable(root))

    @p.provenance()
    def kept(x: int) -> bytes:
        return b"k" * 100_000 * x

    kept(1)
    # Young leftovers may belong to a write in progress: left alone, not reported.
    assert p.verify().staging == []
    young = p.gc(dry_run=False)
    assert young.staging == [] and young.staging_removed == [] and len(list(staging.iterdir())) == 3
    # Past the grace period they are garbage, and counted.
    age(left, 2 * 3600)
    report = p.verify()
    assert report.ok and sorted(s.path for s in report.staging) == sorted(map(str, left))
    assert all(s.size >= 20 << 20 and s.age > 3600 for s in report.staging)
    dry = p.gc()
    assert sorted(dry.staging) == sorted(map(str, left)) and dry.staging_removed == []
    assert len(list(staging.iterdir())) == 3
    done = p.gc(dry_run=False)
    assert sorted(done.staging_removed) == sorted(map(str, left))
    assert done.staging_bytes_freed == sum(s.size for s in report.staging)
    assert done.deleted == [] and list(staging.iterdir()) == []
    assert kept(1) == b"k" * 100_000 and p.verify().ok and p.verify().staging == []
    cfg.repos["r"].index.dispose()


def test_a_grace_period_of_zero_takes_every_leftover(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    kill_a_writer(root, megabytes=2)
    p.load_config(deletable(root))
    assert len(p.verify(grace_period=0).staging) == 1
    report = p.gc(dry_run=False, grace_period=0)
    assert len(report.staging_removed) == 1 and report.staging_bytes_freed >= 2 << 20
    assert list((root / "blobs" / ".tmp").iterdir()) == []


def test_removing_staging_files_needs_the_delete_flag(tmp_path: Any) -> None:
    store = p.DiskStore(tmp_path / "blobs")
    (tmp_path / "blobs" / ".tmp" / "left").write_bytes(b"x")
    stale = store.staging()
    assert [s.path for s in stale] == [str(tmp_path / "blobs" / ".tmp" / "left")]
    with pytest.raises(p.PermissionDenied, match="delete"):
        store.remove_staging(stale)
