"""Eviction while other processes store: no visible artifact ever lacks its value."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from conftest import postgres_config, spawn_worker, sqlite_config

import provenance as p
from provenance.storage import eviction


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def config(request: pytest.FixtureRequest, tmp_path: Any) -> dict[str, Any]:
    if request.param == "sqlite":
        return sqlite_config(str(tmp_path / "repo"))
    return postgres_config(request.getfixturevalue("postgres_url"), str(tmp_path / "repo"))


def test_evicting_while_two_processes_store(config: dict[str, Any], tmp_path: Any) -> None:
    repo = p.load_config(config).repos["local"]
    workers = [spawn_worker(config, "write", "150", cwd=tmp_path) for _ in range(2)]
    rounds = evicted = 0
    while any(w.poll() is None for w in workers) or rounds == 0:
        report = eviction.evict(repo, 200_000)  # the default grace period
        evicted += len(report.removed)
        rounds += 1
        time.sleep(0.05)
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        assert out.strip().endswith("done")
    assert rounds > 1 and evicted > 0
    eviction.evict(repo, 200_000)  # after the last stores
    # Every artifact left has its value; what the rows no longer need is
    # found by gc, and nothing else is left behind.
    assert p.verify(repo).ok
    swept = p.gc(repo, dry_run=False, grace_period=0)
    assert swept.deleted and p.verify(repo).ok
    assert not p.gc(repo, dry_run=True, grace_period=0).unreferenced
    assert eviction.total_size(eviction.footprints(repo)) <= 200_000


_EVICTOR = """
import json, sys
import provenance as p
from provenance.storage import eviction
repo = p.load_config(json.loads(sys.argv[1])).repos["local"]
print("start", flush=True)
eviction.evict(repo, 0, grace_period=0)
print("done", flush=True)
"""


@p.provenance(name="kill.block")
def block(n: int) -> bytes:
    return n.to_bytes(4, "little") * 2000  # 8 KB: a blob each


def test_an_evictor_killed_midway_leaves_only_what_gc_finds(tmp_path: Any) -> None:
    config = sqlite_config(str(tmp_path / "repo"))
    repo = p.load_config(config).repos["local"]
    for n in range(1500):
        block(n)
    proc = subprocess.Popen(
        [sys.executable, "-c", _EVICTOR, json.dumps(config)],
        stdout=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "start"
    time.sleep(0.4)  # into the deletions (all 1500 take a few seconds)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    left = eviction.footprints(repo)
    assert p.verify(repo).ok  # no artifact left without its value
    p.gc(repo, dry_run=False, grace_period=0)
    assert len(set(repo.blobstore.keys())) == len({k for f in left for k, _ in f.blobs})
    assert p.verify(repo).ok and not p.gc(repo, dry_run=True, grace_period=0).unreferenced
