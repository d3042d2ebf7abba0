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


@p.provenance(name="rm.head")
def head(data: bytes, k: int = 3) -> bytes:
    return bytes(data[:k])


def test_rm_of_a_parent_says_its_children_stay_and_lineage_and_show_still_work(
    tmp_path: Path,
) -> None:
    config, repo = setup(tmp_path)
    parent = block(5)
    child = head(parent, k=2).artifact
    gone = parent.artifact.id

    done = run(config, "rm", gone[:10], "--grace-period", "0")
    assert done.stdout.splitlines() == [f"removed {gone}  rm.block"]
    assert "; 1 kept artifact took removed ones as inputs (their inputs and lineage now show " \
           "those as gone)" in done.stderr  # fmt: skip
    assert child.id in repo and gone not in repo

    tree = run(config, "lineage", child.id[:10]).stdout.splitlines()
    assert tree == [
        f"{child.id[:12]}  rm.head  {__name__}.head() v0",
        f"├── data: {gone[:12]}  gone (removed or evicted)",
        "└── k = int 2",
    ]
    dot = run(config, "lineage", child.id[:10], "--format", "dot").stdout
    assert f'a_{gone} [label="gone\n{gone[:10]}"' in dot

    shown = run(config, "show", child.id[:10], "--value").stdout
    parents = shown.split("lineage parents\n", 1)[1].splitlines()[0]
    assert parents.split() == [gone[:12], "gone", "(removed", "or", "evicted)", "as", "data"]
    loaded = shown.split("loaded inputs\n", 1)[1]
    assert f"<InputArtifactGone 'data': the argument 'data' was the artifact {gone}" in loaded
    assert "value\nb'\\x05\\x05'" in shown  # the child's own value is intact


def test_gc_max_size_says_when_kept_artifacts_took_evicted_ones_as_inputs(
    tmp_path: Path,
) -> None:
    config, repo = setup(tmp_path)
    parent = block(6)
    child = head(parent).artifact
    p.recording.flush()
    done = run(config, "gc", "--max-size", "1KB", "--grace-period", "0")
    assert done.stdout.splitlines()[0] == f"evicted {parent.artifact.id}  rm.block"
    assert "1 kept artifact took removed ones as inputs" in done.stderr
    assert child.id in repo  # small enough to stay under the bound
