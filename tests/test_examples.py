"""The examples run as they are, each in a subprocess with a fresh working directory.

Each example runs with its working directory and ``PROVENANCE_HOME`` in the
test's temporary directory, so nothing is written into the checkout.  The
assertions check what the examples claim: what was computed and what was
loaded, the files they draw, the sets they save.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import provenance as p
from provenance.config import default_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_example(path: Path, cwd: Any, *args: str, env: dict[str, str] | None = None) -> str:
    """Run one example script; its output, after checking it exited cleanly."""
    full_env = {**os.environ, "PROVENANCE_HOME": str(Path(cwd) / "store"), **(env or {})}
    out = subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=300,
    )
    assert out.returncode == 0, f"stdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    return out.stdout


def test_basic_example_twice(tmp_path: Any) -> None:
    script = EXAMPLES / "basic" / "basic_example.py"
    first = run_example(script, tmp_path)
    assert "(computed)" in first
    assert "The second run was served from the cache." in first
    second = run_example(script, tmp_path)
    assert "Both calls were served from the cache" in second


def test_distributed_example(tmp_path: Any) -> None:
    out = run_example(EXAMPLES / "distributed" / "parallel_example.py", tmp_path)
    assert "cache hits" in out
    assert "summary" in out


# -- pipeline ----------------------------------------------------------------------

PIPELINE = EXAMPLES / "pipeline" / "pipeline_example.py"
STEPS = ["load_data", "split", "fit_featurizer", "train_model", "evaluate"]


def step_status(section: str) -> dict[str, str]:
    """``{step: 'computed' | 'loaded'}`` from one ``pipeline with l2=...`` section."""
    return dict(re.findall(r"^  (\w+)\s+(computed|loaded)\s+[0-9a-f]{12}$", section, re.M))


def pipeline_sections(out: str) -> list[dict[str, str]]:
    sections = re.split(r"^pipeline with l2=.*:$", out, flags=re.M)[1:]
    return [step_status(s.split("\n\n")[0]) for s in sections]


def test_pipeline_example(tmp_path: Any) -> None:
    pytest.importorskip("graphviz")
    out_dir = tmp_path / "drawings"
    first = run_example(PIPELINE, tmp_path, "--out", str(out_dir))

    # The first model computes every step; the second reuses the data, the
    # split and the featurizer.
    one, two = pipeline_sections(first)
    assert one == dict.fromkeys(STEPS, "computed")
    assert two == {**dict.fromkeys(STEPS[:3], "loaded"), **dict.fromkeys(STEPS[3:], "computed")}
    assert "test accuracy: 0." in first

    # The drawing is a valid SVG showing every step.
    svg = out_dir / "lineage.svg"
    assert f"drawn to {svg}" in first
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = svg.read_text()
    for name in STEPS + ["split_train", "split_test"]:
        assert f">{name}" in text, name
    assert not (out_dir / "lineage").exists(), "the dot source is cleaned up"

    # The sets are loadable from another process (this one).
    p.load_config(default_config(str(tmp_path / "store")))
    run_set = p.load_set_by_name("pipeline-example")
    names = sorted(a.name for a in run_set.artifacts().values())
    assert names == sorted(
        ["load_data", "split", "split_train", "split_test", "fit_featurizer"]
        + ["train_model", "evaluate"] * 2
    )
    assert f"set 'pipeline-example' ({run_set.id[:12]}) has 9 artifacts" in first
    best = p.load_set_by_labels({"name": "best-model", "pipeline": "numpy"})
    assert sorted(a.name for a in best.artifacts().values()) == ["evaluate", "train_model"]

    # A second run loads everything.
    second = run_example(PIPELINE, tmp_path, "--out", str(out_dir))
    assert pipeline_sections(second) == [dict.fromkeys(STEPS, "loaded")] * 2


@pytest.mark.xfail(
    strict=True,
    reason="library bug: a cached returns_composite call notifies capture_set of the "
    "composite artifact only, not of its members (split_train, split_test)",
)
def test_pipeline_rerun_captures_the_same_set(tmp_path: Any) -> None:
    pytest.importorskip("graphviz")
    first = run_example(PIPELINE, tmp_path, "--out", str(tmp_path))
    second = run_example(PIPELINE, tmp_path, "--out", str(tmp_path))
    size = re.compile(r"set 'pipeline-example' \([0-9a-f]+\) has (\d+) artifacts")
    assert size.search(first)[1] == size.search(second)[1]  # type: ignore[index]
