"""A notebook executed headless: what its cells show of artifacts, sets, runs and lineage.

The notebook is built with nbformat and run by nbclient in a real IPython
kernel of this interpreter (a kernel spec written for the test, so that no
installed one is needed), with the test's repository (``PROVENANCE_HOME``)
and the notebook's path in ``JPY_SESSION_NAME``, as a Jupyter server sets it.
Each displaying cell's ``text/html`` output is checked, and its
``text/plain`` one is one line.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from provenance.client import Flow  # noqa: E402  (after the skips)

#: A kernel is started: seconds, more on a loaded machine.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "provenance-test"

CELLS = {
    "define": """
import provenance as p
import provenance.client as client

@p.provenance()
def load(n):
    return list(range(n))

@p.provenance(returns_composite=True)
def split(xs):
    return {"head": xs[:2], "tail": xs[2:]}

@p.provenance()
def total(xs, scale=1.0):
    return sum(xs) * scale

xs = load(5)
parts = split(xs)
result = total(parts["head"], scale=2.0)
""",
    "artifact": "result.artifact",
    "composite": "parts",
    "set": 'p.create_set([xs, result], labels="notebook set")',
    "capture": 'with p.capture_set("captured") as captured:\n    load(3)\ncaptured',
    "graph": "p.lineage_graph(result)",
    "flow": 'client.Flow("analysis")',
    "run": 'run = client.Flow("analysis").latest_run\nrun',
    "task": 'run["total"].task',
    "data": 'run["split"].task["head"]',
    "frame": """
try:
    import pandas as pd
except ImportError:  # the test that reads this cell is skipped then
    pd = None

@p.provenance()
def frame(n):
    return pd.DataFrame({"x": range(n)})

frame(3) if pd is not None else None
""",
    "evil": """
@p.provenance(name="<script>alert(1)</script>")
def evil(text):
    return text

evil("<script>alert(2)</script>").artifact
""",
}


def _kernel_spec(where: Path) -> Path:
    """A kernel spec running this interpreter, in a directory of its own."""
    spec = where / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "provenance tests", "language": "python"})
    )
    return where


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The notebook's cells, executed, by name; and the repo it wrote to."""
    tmp = tmp_path_factory.mktemp("notebook")
    notebook_path = tmp / "analysis.ipynb"
    cells = [nbformat.v4.new_code_cell(source.strip()) for source in CELLS.values()]
    notebook = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(notebook, notebook_path)
    env = {
        "PROVENANCE_HOME": str(tmp / "home"),
        "JPY_SESSION_NAME": str(notebook_path),
        "JUPYTER_PATH": str(_kernel_spec(tmp / "jupyter")),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = nbclient.NotebookClient(
            notebook, kernel_name=KERNEL, timeout=180, resources={"metadata": {"path": str(tmp)}}
        )
        client.execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"cells": dict(zip(CELLS, notebook.cells)), "home": tmp / "home"}


def _shown(executed: dict[str, Any], name: str) -> tuple[str, str]:
    """The ``text/html`` and ``text/plain`` a cell displayed as its result."""
    cell = executed["cells"][name]
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    html, plain = result.data["text/html"], result.data["text/plain"]
    assert "\n" not in plain and "object at 0x" not in plain, plain
    return html, plain


def test_an_artifact_shows_as_a_card_with_linked_inputs(executed: dict[str, Any]) -> None:
    html, plain = _shown(executed, "artifact")
    assert plain.startswith("<provenance.Artifact ") and "__main__.total" in plain
    artifact_id = plain.split()[1]
    assert f'id="prov-{artifact_id[:8]}"' in html and "<b>__main__.total</b>" in html
    assert "<code>scale</code>" in html and 'href="#prov-' in html
    if shutil.which("dot"):
        assert "<svg" in html and "__main__.load" in html


def test_a_composite_a_set_and_a_capture_show_as_cards(executed: dict[str, Any]) -> None:
    html, plain = _shown(executed, "composite")
    assert 'class="prov-kind">CompositeDict' in html and "<td>head</td>" in html
    assert plain.startswith("<provenance.CompositeDict(")
    html, plain = _shown(executed, "set")
    assert "<b>notebook set</b> (2 artifacts)" in html and plain.startswith("<provenance.Artifac")
    html, plain = _shown(executed, "capture")
    assert "<b>captured</b> (1 artifact)" in html and plain.startswith("<provenance.SetCapture")


def test_the_lineage_graph_shows_as_a_card(executed: dict[str, Any]) -> None:
    html, plain = _shown(executed, "graph")
    assert plain.startswith("<provenance.LineageGraph upstream of __main__.total")
    assert "upstream of <b>__main__.total</b>" in html and "__main__.load" in html


def test_the_implicit_run_is_named_after_the_notebook(executed: dict[str, Any]) -> None:
    html, plain = _shown(executed, "flow")
    assert plain == "Flow('analysis')" and 'class="prov-kind">Flow' in html
    html, plain = _shown(executed, "run")
    assert plain == "Run('analysis/1')" and "running (implicit run)" in html
    for step in ("load", "split", "total"):
        assert f"<b>{step}</b>" in html


def test_a_task_and_a_data_artifact_show_as_cards(executed: dict[str, Any]) -> None:
    html, plain = _shown(executed, "task")
    assert plain == "Task('analysis/1/total/1')" and 'class="prov-kind">Task' in html
    html, plain = _shown(executed, "data")
    assert plain == "DataArtifact('analysis/1/split/1/head')" and "__main__.split_head" in html


def test_a_value_shows_as_the_value_it_wraps(executed: dict[str, Any]) -> None:
    pytest.importorskip("pandas")
    cell = executed["cells"]["frame"]
    (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert 'class="dataframe"' in result.data["text/html"]


def test_names_and_values_show_as_text_never_as_markup(executed: dict[str, Any]) -> None:
    html, _ = _shown(executed, "evil")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "alert(2)" in html


def test_the_run_is_in_the_repository_after_the_kernel_ended(
    executed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_HOME", str(executed["home"]))
    run = Flow("analysis").latest_run
    assert run is not None and run.finished
    assert run["total"].task.artifact_id == run["total"].task.artifact.id
