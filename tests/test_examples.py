"""The examples run as they are."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_example(path: Path, cwd: Any) -> str:
    env = {**os.environ, "PROVENANCE_HOME": str(Path(cwd) / "store")}
    out = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_basic_example_twice(tmp_path: Any) -> None:
    script = ROOT / "examples" / "basic" / "basic_example.py"
    first = run_example(script, tmp_path)
    assert "(computed)" in first
    assert "The second run was served from the cache." in first
    second = run_example(script, tmp_path)
    assert "Both calls were served from the cache" in second


def test_distributed_example(tmp_path: Any) -> None:
    out = run_example(ROOT / "examples" / "distributed" / "parallel_example.py", tmp_path)
    assert "cache hits" in out
    assert "summary" in out
