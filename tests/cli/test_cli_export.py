"""``provenance export ID PATH`` in subprocesses: natural formats, --force, pickles, refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import sqlite_config

import provenance as p
from provenance import cli

PROVENANCE = shutil.which("provenance")
pytestmark = pytest.mark.skipif(PROVENANCE is None, reason="the console script is not installed")


@p.provenance(name="table")
def table(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(n)})


@p.provenance(name="weights")
def weights(n: int) -> np.ndarray:
    return np.ones(n)


@p.provenance(name="odd")
def odd(n: int) -> set[int]:
    return set(range(n))


@p.provenance(name="halves", returns_composite=True)
def halves(n: int) -> dict[str, Any]:
    return {"low": list(range(n // 2)), "high": list(range(n // 2, n))}


def run_all(config: Path, *calls: list[Any]) -> list[subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if k != cli.CONFIG_ENV}
    procs = [
        subprocess.Popen(
            [str(PROVENANCE), *map(str, call), "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for call in calls
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_export_writes_natural_formats_and_refuses_clearly(tmp_path: Path) -> None:
    cfg = sqlite_config(str(tmp_path / "repo"))
    config = tmp_path / "provenance.yaml"
    config.write_text(yaml.safe_dump(cfg))
    p.load_config(cfg)
    frame, array, pickled, split = table(300), weights(1000), odd(4), halves(6)
    out = tmp_path / "out"
    out.mkdir()
    (out / "taken.npy").write_bytes(b"mine")
    into_dir, to_file, kept, forced, pickle, composite, bad, unknown = run_all(
        config,
        ["export", frame.artifact.id[:8], out],
        ["export", array.artifact.id, out / "w.npy"],
        ["export", array.artifact.id, out / "taken.npy"],
        ["export", array.artifact.id[:10], out / "taken.npy", "--force"],
        ["export", pickled.artifact.id, out],
        ["export", split.artifact.id, out],
        ["export", "../etc", out],
        ["export", "f" * 32, out],
    )
    assert into_dir.returncode == 0, into_dir.stderr
    assert into_dir.stdout.startswith(f"exported {frame.artifact.id[:12]} (table) as parquet to ")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "table.parquet"), frame.__wrapped__)
    assert to_file.returncode == 0 and np.array_equal(np.load(out / "w.npy"), np.ones(1000))
    assert kept.returncode == 1
    assert kept.stderr.strip() == (
        f"provenance: error: {out / 'taken.npy'} exists already: give --force to overwrite it"
    )
    assert forced.returncode == 0 and np.array_equal(np.load(out / "taken.npy"), np.ones(1000))
    assert pickle.returncode == 0 and joblib.load(out / "odd.joblib") == {0, 1, 2, 3}
    assert "as joblib to" in pickle.stdout
    assert "note:" in pickle.stderr and "loading it runs code" in pickle.stderr
    for failed in (composite, bad, unknown):
        assert failed.returncode == 1 and len(failed.stderr.strip().splitlines()) == 1
        assert "Traceback" not in failed.stderr
    assert "is a composite: export its members one by one: high (" in composite.stderr
    assert f"low ({split.member_ids['low'][:12]})" in composite.stderr
    assert "invalid artifact id '../etc'" in bad.stderr
    assert f"no artifact id starts with '{'f' * 32}'" in unknown.stderr
    assert sorted(os.listdir(out)) == ["odd.joblib", "table.parquet", "taken.npy", "w.npy"]
