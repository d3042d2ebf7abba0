"""Exporting a value as a file of its natural format: the stored bytes, verified, never loaded."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import sqlite_config

import provenance as p


@p.provenance(name="frame")
def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(n), "y": np.arange(n) * 0.5})


@p.provenance(name="series")
def series(n: int) -> pd.Series:
    return pd.Series(np.arange(n), name="s")


@p.provenance(name="array")
def array(n: int) -> np.ndarray:
    return np.linspace(0, 1, n)


@p.provenance(name="config")
def config(n: int) -> dict[str, Any]:
    return {"n": n, "names": ["a", "b"], "ok": True}


@p.provenance(name="odd")
def odd(n: int) -> set[int]:
    return set(range(n))


@p.provenance(name="parts", returns_composite=True)
def parts(n: int) -> dict[str, Any]:
    return {"left": list(range(n)), "right": [n]}


def test_each_value_is_exported_in_its_natural_format(disk_repo: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = p.export_artifact(frame(2000), out)
    assert (done.path, done.format, done.note) == (str(out / "frame.parquet"), "parquet", None)
    pd.testing.assert_frame_equal(pd.read_parquet(done.path), frame(2000).__wrapped__)
    assert done.size == os.path.getsize(done.path)
    done = p.export_artifact(series(10), out)
    assert done.path.endswith("series.parquet")
    assert pd.read_parquet(done.path)["s"].tolist() == list(range(10))
    done = p.export_artifact(array(1000), out / "a.npy")
    assert done.format == "npy" and np.array_equal(np.load(done.path), np.linspace(0, 1, 1000))
    # A small value kept in the index row exports as well.
    small = config(3).artifact
    assert small._get("value_inline") is not None
    done = p.export_artifact(small.id, out)
    assert done.path.endswith("config.json") and done.format == "json"
    assert json.loads(Path(done.path).read_text()) == {"n": 3, "names": ["a", "b"], "ok": True}
    assert oct(os.stat(done.path).st_mode & 0o777) != oct(0o600)  # an ordinary file
    assert [f for f in os.listdir(out) if f.startswith(".export-")] == []


def test_archived_files_are_exported_as_themselves(disk_repo: Any, tmp_path: Path) -> None:
    source = tmp_path / "table.CSV"
    source.write_bytes(b"a,b\n1,2\n")
    kept = p.archive_file(source, name="table", preserve_ext=True)
    plain = p.archive_file(source, name="raw")
    out = tmp_path / "out"
    out.mkdir()
    done = p.export_artifact(kept, out)
    assert (done.path, done.format) == (str(out / "table.csv"), "file")
    assert Path(done.path).read_bytes() == b"a,b\n1,2\n"
    assert p.export_artifact(plain, out).path == str(out / "raw")


def test_a_pickle_is_exported_as_the_serializer_s_bytes_with_a_warning(
    tmp_path: Path,
) -> None:
    root = str(tmp_path / "repo")
    p.load_config(sqlite_config(root))
    made = odd(5).artifact
    # The same repo, not trusted: loading the pickle is refused, copying it is not.
    p.load_config(sqlite_config(root, trusted=False))
    with pytest.raises(p.UntrustedValue):
        _ = p.load_artifact(made.id).value
    done = p.export_artifact(made.id, tmp_path)
    assert done.path == str(tmp_path / "odd.joblib") and done.format == "joblib"
    assert done.note is not None and "runs code" in done.note and "joblib.load" in done.note
    assert joblib.load(done.path) == {0, 1, 2, 3, 4}


def test_refusals_come_before_anything_is_written(disk_repo: Any, tmp_path: Path) -> None:
    target = tmp_path / "x.npy"
    target.write_bytes(b"mine")
    made = array(10)
    with pytest.raises(FileExistsError, match="x.npy exists already: pass force=True"):
        p.export_artifact(made, target)
    assert target.read_bytes() == b"mine"
    assert np.array_equal(np.load(p.export_artifact(made, target, force=True).path), made)
    with pytest.raises(FileNotFoundError, match="no directory"):
        p.export_artifact(made, tmp_path / "nowhere" / "x.npy")
    composite = parts(3)
    with pytest.raises(p.InvalidValue, match="is a composite: export its members") as info:
        p.export_artifact(composite, tmp_path)
    assert "left (" in str(info.value) and composite.member_ids["left"][:12] in str(info.value)


def test_a_corrupt_blob_leaves_nothing_behind(disk_repo: Any, tmp_path: Path) -> None:
    made = frame(5000).artifact
    with open(disk_repo.blobstore.local_path(made.blob_id), "r+b") as f:
        f.write(b"\x00\x01\x02\x03")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(p.CorruptBlob, match="nothing was exported"):
        p.export_artifact(made, out)
    assert os.listdir(out) == []
    os.unlink(disk_repo.blobstore.local_path(made.blob_id))
    with pytest.raises(p.BlobNotFound, match=f"artifact {made.id} \\(frame\\) is missing"):
        p.export_artifact(made, out)
    assert os.listdir(out) == []
