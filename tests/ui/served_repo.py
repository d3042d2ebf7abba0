"""A populated repository and a real ``provenance ui`` server over it, for the web view's tests.

Not a ``conftest.py``: the other test directories import the top one as
``conftest``, which a second one would shadow.  The test modules load this
as a plugin (``pytest_plugins``), so the server starts once per session.

The server is the command a user runs (``python -m provenance ui --port 0``)
in a subprocess; the tests reach it over HTTP on 127.0.0.1 and, in
``test_browser.py``, through headless Chromium.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import provenance as p

pytest.importorskip("starlette", reason="the ui extra is not installed")

#: What a stored value or name holding markup must show as, never run.
MARKUP = "<script>window.__pwned = 1</script>"
#: This checkout: the subprocesses import the library from it.
ROOT = Path(__file__).resolve().parents[2]

FLOW = """
from provenance.flow import FlowSpec, step

class ArtFlow(FlowSpec):

    @step
    def start(self):
        self.some_data = [1, 2, 3]
        self.next(self.middle)

    @step
    def middle(self):
        print('the data artifact is:', self.some_data)
        self.some_data = [1, 2, 4]
        self.next(self.end)

    @step
    def end(self):
        print('the end <b>bold</b>')

if __name__ == '__main__':
    ArtFlow()
"""


@dataclass(frozen=True)
class Served:
    base: str
    token: str
    ids: dict[str, str]
    config: Path

    def url(self, path: str = "/", token: bool = True) -> str:
        sep = "&" if "?" in path else "?"
        return self.base + path + (f"{sep}token={self.token}" if token else "")


def _populate(root: Path) -> tuple[Path, dict[str, str]]:
    config = root / "provenance.yaml"
    config.write_text(yaml.safe_dump({
        "blobstores": {"disk": {"type": "disk", "cachedir": "blobs"}},
        "artifact_repos": {"local": {"type": "sql", "db": "index.db", "store": "disk"}},
        "default_repo": "local",
    }))  # fmt: skip
    p.load_yaml_config(str(config))

    @p.provenance(name="raw_data", tags=["nightly"])
    def raw_data(n: int) -> list[int]:
        return list(range(n))

    @p.provenance(name="features", custom_fields={"team": "vision"})
    def features(xs: Any, scale: float = 2.0) -> dict[str, Any]:
        return {"scaled": [x * scale for x in xs], "note": MARKUP}

    @p.provenance(name="model")
    def model(f: Any) -> float:
        return sum(f["scaled"])

    @p.provenance(
        name=MARKUP, tags=["<b>t</b>"], custom_fields={"<i>k</i>": "<img src=x onerror=alert(1)>"}
    )
    def marked(x: int) -> int:
        return x

    # Names holding '/' and '%' (the original library accepted them): each is
    # a step of the run, at a pathspec that quotes it.
    @p.provenance(name="models/train")
    def slashed(x: int) -> int:
        return x + 1

    @p.provenance(name="models%2Ftrain")
    def percent(x: int) -> int:
        return x * 10

    with p.run("Slashes"):
        slashed_id, percent_id = slashed(1).artifact.id, percent(1).artifact.id
    marked_id = marked(1).artifact.id
    raw = raw_data(5)
    made = model(features(raw))
    ids = {"raw": raw.artifact.id, "model": made.artifact.id, "marked": marked_id}
    ids.update(slashed=slashed_id, percent=percent_id)
    ids["features"] = made.artifact.input_artifact_ids[0]
    for n in range(60):  # more than a page of the list
        other = raw_data(100 + n)
    ids["raw_other"] = other.artifact.id
    ids["small_set"] = p.create_set([ids["raw"], ids["features"]], "small").id
    ids["big_set"] = p.create_set([ids["raw"], ids["model"]], "big").id
    for n in range(1, 56):  # more than a page of a flow's runs; the odd ones tagged
        with p.run("Many", tags=["odd"] if n % 2 else []):
            raw_data(5)
    # A flow run that computes, one served from the cache, and one that fails.
    (root / "artflow.py").write_text(FLOW)
    env = {**_env(), "PROVENANCE_CONFIG": str(config)}
    for source in (FLOW, FLOW, FLOW.replace("print('the end", "raise ValueError('boom'); print('")):
        (root / "artflow.py").write_text(source)
        subprocess.run([sys.executable, "artflow.py", "run"], cwd=root, env=env,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    # This process's tasks are written behind (every few seconds): written
    # now, the server shows who made each artifact from its first request.
    p.runs.flush()
    return config, ids


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``provenance ui`` serving a populated repository; its URL and token."""
    root = tmp_path_factory.mktemp("ui")
    config, ids = _populate(root)
    env = _env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "provenance", "--config", str(config), "ui", "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=root,
    )  # fmt: skip
    assert proc.stderr is not None
    deadline, seen = time.monotonic() + 60, ""
    while (found := re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", seen)) is None:
        line = proc.stderr.readline()
        if not line and (proc.poll() is not None or time.monotonic() > deadline):
            proc.kill()
            raise AssertionError(f"provenance ui did not start: {seen}")
        seen += line
    try:
        yield Served(found.group(1), found.group(2), ids, config)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def http(served: Served) -> Iterator[Any]:
    httpx = pytest.importorskip("httpx")
    with httpx.Client(timeout=30) as client:
        yield client
