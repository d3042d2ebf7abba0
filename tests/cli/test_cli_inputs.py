"""``provenance ls`` and ``show`` give the size of the value and of the inputs (in subprocesses)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import sqlite_config

import provenance as p
from provenance import cli

PROVENANCE = shutil.which("provenance")
pytestmark = pytest.mark.skipif(PROVENANCE is None, reason="the console script is not installed")


@p.provenance(name="scaled")
def scaled(a: Any, k: int) -> float:
    return float(a.sum()) * k


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != cli.CONFIG_ENV}
    done = subprocess.run(
        [str(PROVENANCE), *args, "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def test_ls_and_show_give_the_inputs_size_and_say_what_is_shared(tmp_path: Path) -> None:
    cfg = sqlite_config(str(tmp_path / "repo"))
    config = tmp_path / "provenance.yaml"
    config.write_text(yaml.safe_dump(cfg))
    p.load_config(cfg)
    a = np.random.default_rng(0).random(100_000)  # 800 KB: stored apart, once
    ids = [scaled(a, k).artifact.id for k in (1, 2)]
    small = scaled(np.arange(3.0), 1).artifact.id
    listed = run(config, "ls")
    rows = [re.split(r" {2,}", line.strip()) for line in listed.stdout.splitlines()]
    assert rows[0][:5] == ["ID", "NAME", "VERSION", "SIZE", "INPUTS"]
    by_id = {r[0]: r for r in rows[1:]}
    for artifact_id in ids:
        assert by_id[artifact_id[:12]][3].endswith(" B")  # the value: a small float
        assert by_id[artifact_id[:12]][4].endswith("KiB")  # the input, in full
        assert float(by_id[artifact_id[:12]][4].split()[0]) > 781
    assert by_id[small[:12]][4].endswith(" B")  # the row's pickle only
    assert "share 1 stored once, 781.4 KiB in all" in listed.stderr
    shown = run(config, "show", ids[0]).stdout
    assert re.search(r"inputs size: 78\d\.\d KiB", shown)
    stored = shown.split("stored inputs\n")[1]
    line = next(x for x in stored.splitlines() if x.strip().startswith("a "))
    assert "npy" in line and "stored once, shared by 2 artifacts" in line
    # An input that is not an artifact reads as the lineage drawings label it.
    given = shown.split("\ninputs\n")[1].split("\n\n")[0]
    assert re.search(r"^  a\s+ndarray float64 \(100000,\) <[0-9a-f]{12}>$", given, re.M), given
    assert re.search(r"^  k\s+1$", given, re.M), given
    alone = run(config, "show", small).stdout
    assert "stored inputs" not in alone and "inputs size:" in alone
