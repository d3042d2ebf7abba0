"""``provenance rm`` and ``provenance gc --max-size``, run as the installed console script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import sqlite_config

import provenance as p
from provenance import cli

PROVENANCE = shutil.which("provenance")
pytestmark = pytest.mark.skipif(PROVENANCE is None, reason="the console script is not installed")


@p.provenance(name="rm.block")
def block(n: int) -> bytes:
    return bytes([n]) * 100_000


def run(config: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != cli.CONFIG_ENV}
    done = subprocess.run(
        [str(PROVENANCE), *args, "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert (done.returncode == 0) == ok, done.stderr
    return done


def setup(tmp_path: Path) -> tuple[Path, object]:
    cfg = sqlite_config(str(tmp_path / "repo"))
    config = tmp_path / "provenance.yaml"
    config.write_text(yaml.safe_dump(cfg))
    return config, p.load_config(cfg).repos["local"]


def test_rm_by_prefix_dry_run_sets_and_force(tmp_path: Path) -> None:
    config, repo = setup(tmp_path)
    one, two, kept = (block(n).artifact for n in (1, 2, 3))
    p.create_set([kept.id], labels="keep", repo=repo)

    shown = run(config, "rm", one.id[:10], "--dry-run")
    assert shown.stdout.splitlines() == [f"would remove {one.id}  rm.block"]
    assert re.search(r"would remove 1 artifact, would free 9\d\.\d KiB", shown.stderr)
    assert one.id in repo

    done = run(config, "rm", one.id[:10], two.id, "--grace-period", "0")
    assert done.stdout.splitlines() == [
        f"removed {one.id}  rm.block",
        f"removed {two.id}  rm.block",
    ]
    assert re.search(r"removed 2 artifacts, freed 19\d\.\d KiB", done.stderr)
    assert one.id not in repo and two.id not in repo
    assert not repo.blobstore.exists(one.blob_id)  # type: ignore[attr-defined]

    refused = run(config, "rm", kept.id, ok=False)
    assert "'keep'" in refused.stderr and "--force" in refused.stderr
    assert kept.id in repo
    # Within the grace period the blob stays, for gc: the output says so.
    forced = run(config, "rm", kept.id, "--force")
    assert "removed 1 artifact" in forced.stderr and "left for `provenance gc`" in forced.stderr
    assert kept.id not in repo

    unknown = run(config, "rm", "ffffffff", ok=False)
    assert "ffffffff" in unknown.stderr


def test_gc_max_size_evicts_the_least_recently_used(tmp_path: Path) -> None:
    config, repo = setup(tmp_path)
    made = [block(n).artifact for n in range(4)]
    block(0)  # a hit: block(0) is now the most recently used
    p.create_set([made[3].id], labels="pinned", repo=repo)
    p.recording.flush()

    bad = run(config, "gc", "--max-size", "lots", ok=False)
    assert "'--max-size' must be a size" in bad.stderr

    planned = run(config, "gc", "--max-size", "250KB", "--dry-run")
    assert [line.split()[2] for line in planned.stdout.splitlines()[:2]] == [
        made[1].id,
        made[2].id,
    ]
    assert re.search(r"would free 19\d\.\d KiB: 2 least recently used artifacts would be "
                     "evicted", planned.stderr)  # fmt: skip
    assert "remain in 1 member of saved sets, never evicted" in planned.stderr
    assert made[1].id in repo

    done = run(config, "gc", "--max-size", "250KB", "--grace-period", "0")
    assert re.search(r"freed 19\d\.\d KiB: 2 least recently used artifacts evicted", done.stderr)
    assert [m.id in repo for m in made] == [True, False, False, True]

    again = run(config, "gc", "--max-size", "250KB", "--grace-period", "0")
    assert "max 244.1 KiB: nothing to evict" in again.stderr
