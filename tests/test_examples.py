"""The examples run as they are, each in a subprocess with a fresh working directory.

Each example runs with its working directory and ``PROVENANCE_HOME`` in the
test's temporary directory, so nothing is written into the checkout.  The
assertions check what the examples claim: what was computed and what was
loaded, the files they draw, the sets they save.
"""

from __future__ import annotations

import importlib.util
import json
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

# The moto S3 server fixtures, for the team example.
pytest_plugins = ["s3_server"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_example(
    path: Path, cwd: Any, *args: str, env: dict[str, str] | None = None, home: Any = None
) -> str:
    """Run one example script; its output, after checking it exited cleanly.

    ``PROVENANCE_HOME`` is ``home``, by default ``cwd/store``.
    """
    home = str(home or Path(cwd) / "store")
    full_env = {**os.environ, "PROVENANCE_HOME": home, **(env or {})}
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

    # The command it prints loads the value by id in another process.
    command = re.search(r'^from another process: python -c "(.*)"$', second, re.M)
    assert command is not None
    env = {**os.environ, "PROVENANCE_HOME": str(tmp_path / "store")}
    loaded = subprocess.run(
        [sys.executable, "-c", command[1]], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert loaded.stdout.strip() == str(sum(i**2 for i in range(1_000_000))), loaded.stderr


@pytest.mark.parametrize(
    ("script", "args"),
    [("basic/basic_example.py", []), ("pipeline/pipeline_example.py", ["--out", "{tmp}"])],
)
def test_examples_run_from_their_own_directory(script: str, args: list[str], tmp_path: Any) -> None:
    if script.startswith("pipeline"):
        pytest.importorskip("graphviz")
    path = EXAMPLES / script
    before = sorted(path.parent.iterdir())
    args = [a.format(tmp=tmp_path) for a in args]
    run_example(Path(path.name), path.parent, *args, home=tmp_path / "store")
    assert sorted(path.parent.iterdir()) == before, "nothing is written into the checkout"


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
        assert name in text, name
    assert not (out_dir / "lineage").exists(), "the dot source is cleaned up"

    # The sets are loadable from another process (this one).
    p.load_config(default_config(str(tmp_path / "store")))
    run_set = p.load_set_by_name("pipeline-example")
    names = sorted(a.name for a in run_set.artifacts().values())
    # Default names are module-qualified; a script's module is its file's name.
    assert names == sorted(
        f"pipeline_example.{n}"
        for n in ["load_data", "split", "split_train", "split_test", "fit_featurizer"]
        + ["train_model", "evaluate"] * 2
    )
    assert f"set 'pipeline-example' ({run_set.id[:12]}) has 9 artifacts" in first
    best = p.load_set_by_labels({"name": "best-model", "pipeline": "numpy"})
    assert sorted(a.name for a in best.artifacts().values()) == [
        "pipeline_example.evaluate",
        "pipeline_example.train_model",
    ]

    # A second run loads everything.
    second = run_example(PIPELINE, tmp_path, "--out", str(out_dir))
    assert pipeline_sections(second) == [dict.fromkeys(STEPS, "loaded")] * 2


def import_example(path: Path) -> Any:
    """An example script as a module (its ``main`` does not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pipeline_rerun_captures_the_same_set() -> None:
    # In this process (the isolated fixture gives it a fresh repo): a
    # rerun of the pipeline, all cache hits, should capture the same set.
    pipeline = import_example(PIPELINE)
    captured = []
    for _ in range(2):
        with p.capture_set("pipeline-example") as capture:
            pipeline.run_pipeline(0.01)
        captured.append(sorted(a.name for a in capture[0].artifacts().values()))
    assert "example_pipeline_example.split_train" in captured[0]
    assert captured[1] == captured[0]


# -- team ------------------------------------------------------------------------------

TEAM = EXAMPLES / "team" / "team_example.py"


def member_lines(out: str, member: str) -> dict[str, tuple[str, str]]:
    """``{call: (artifact id prefix, status)}`` printed by one member's process."""
    found = re.findall(rf"^\[{member}\] (\S+)\s+([0-9a-f]{{12}})  (.*)$", out, re.M)
    return {call: (short_id, status) for call, short_id, status in found}


@pytest.mark.postgres
@pytest.mark.s3
def test_team_example(tmp_path: Any, postgres_url: str, s3_server: Any, s3_bucket: str) -> None:
    env = {
        "PROVENANCE_TEAM_DB": postgres_url,
        "PROVENANCE_TEAM_BUCKET": s3_bucket,
        "PROVENANCE_TEAM_S3_ENDPOINT": s3_server.endpoint_url,
    }
    out = run_example(TEAM, tmp_path, env=env)
    alice, bob = member_lines(out, "alice"), member_lines(out, "bob")

    # Bob's process got a cache hit on the data set Alice's process computed.
    assert alice["daily_sales(north)"][1] == "computed"
    assert alice["summarize(q=0.5)"][1] == "computed"
    assert bob["daily_sales(north)"][0] == alice["daily_sales(north)"][0]
    assert bob["daily_sales(north)"][1].startswith("loaded   (computed by alice, pid ")
    assert bob["summarize(q=0.9)"][1] == "computed"

    # The index on PostgreSQL records who computed what, and the lineage.
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, name, blob_id, run_info FROM artifacts")).all()
    finally:
        engine.dispose()

    def user(row: Any) -> str:
        # A JSON column: decoded by the driver, or text on some back ends.
        info = json.loads(row.run_info) if isinstance(row.run_info, str) else row.run_info
        return str(info["user"])

    (sales,) = [r for r in rows if r.name == "team_example.daily_sales"]
    assert sales.id.startswith(alice["daily_sales(north)"][0])
    assert user(sales) == "alice"
    summaries = [r for r in rows if r.name == "team_example.summarize"]
    assert sorted(user(r) for r in summaries) == ["alice", "bob"]

    # The data set's value is in the bucket, under the configured prefix.
    listed = s3_server.client.list_objects_v2(Bucket=s3_bucket, Prefix="provenance/blobs/")
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert any(key.endswith(sales.blob_id) for key in keys), keys

    # Migrating the shared index is a no-op on an up-to-date one.
    assert "up to date" in run_example(TEAM, tmp_path, "--upgrade-db", env=env)


def test_team_example_says_which_settings_are_missing(tmp_path: Any) -> None:
    env = {**os.environ, "PROVENANCE_HOME": str(tmp_path / "store")}
    for name in ("PROVENANCE_TEAM_DB", "PROVENANCE_TEAM_BUCKET"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, str(TEAM)], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 1
    assert "PROVENANCE_TEAM_BUCKET, PROVENANCE_TEAM_DB" in out.stderr
    assert "Traceback" not in out.stderr


# -- client ------------------------------------------------------------------------


def test_the_flow_tutorial_runs_and_the_client_example_reads_it_back(tmp_path: Any) -> None:
    tutorial = EXAMPLES / "flows" / "art_flow.py"
    first = run_example(tutorial, tmp_path, "run", "--run-id-file", "run.txt")
    printed = [line.split("] ", 1)[1] for line in first.splitlines() if "data artifact" in line]
    assert printed == ["the data artifact is: [1, 2, 3]", "the data artifact is: [1, 2, 4]"]
    # The second run is served from the cache: no step runs, its output is replayed.
    again = run_example(tutorial, tmp_path, "run", "--tag", "again")
    assert "Task is starting" not in again
    assert "Done! 3 tasks, 3 of them from the cache." in again
    out = run_example(EXAMPLES / "client" / "browse.py", tmp_path, "run.txt")
    assert "Run('ArtFlow/1').data.some_data = [1, 2, 4]" in out
    assert "latest run ArtFlow/2: some_data = [1, 2, 4]" in out
    assert "runs of ArtFlow, newest first: ['2', '1']" in out
    for number, step in enumerate(("start", "middle", "end"), 1):
        assert f"ArtFlow/2/{step}/{number}" in out
        assert f"cached (first computed by ArtFlow/1/{step}/{number})" in out
    assert "'again'" in out


def test_the_training_flow_runs_in_workers_and_then_from_the_cache(tmp_path: Any) -> None:
    script = EXAMPLES / "flows" / "train_flow.py"
    first = run_example(script, tmp_path, "run", "--rows", "3000", "--max-workers", "2")
    assert "best: fourier on 3000 rows" in first
    assert "Done! 9 tasks, 0 of them from the cache." in first
    again = run_example(script, tmp_path, "run", "--rows", "3000")
    assert "Done! 9 tasks, 9 of them from the cache." in again
    assert "(replayed)] best: fourier on 3000 rows" in again
    shown = run_example(script, tmp_path, "show")
    assert "Step featurize\n    One feature matrix per featurizer.\n    => train" in shown
    assert "=> featurize (foreach featurizers)" in shown
