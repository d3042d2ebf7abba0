"""Code written for the original library, run as its users ran it (issue 14).

The scripts below follow the original's own ``examples/basic`` example and
the snippets of its README: the same calls, configuration keys and module
paths, with only the database URL pointed at the test's PostgreSQL server.
Each runs in a fresh interpreter, twice where a cache is the point.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The original's basic example: a disk store and a postgres repo, both with the
# keys of the original configuration format, and a function printing when it runs.
BASIC = """
import provenance as p

p.load_config({
    "blobstores": {
        "disk": {"type": "disk", "cachedir": "artifacts", "read": True, "write": True,
                 "read_through_write": False, "delete": True},
    },
    "artifact_repos": {
        "local": {"type": "postgres", "db": DB_URL, "store": "disk", "read": True,
                  "write": True, "create_db": True, "read_through_write": False,
                  "delete": True},
    },
    "default_repo": "local",
})


@p.provenance()
def my_add(x, y):
    print("Executed")
    return x + y


print(my_add(1, 4))
"""

# The README's tour: two expensive functions, lineage through proxies, and the
# drawing from provenance.vis.
README = """
import provenance as p
import provenance.vis as vis

p.load_config({
    "blobstores": {"disk": {"type": "disk", "cachedir": "artifacts"}},
    "artifact_repos": {"local": {"type": "postgres", "db": DB_URL, "store": "disk",
                                 "create_db": True}},
    "default_repo": "local",
})


@p.provenance()
def expensive_add(a, b):
    print("add", a, b)
    return a + b


@p.provenance()
def expensive_mult(a, b):
    print("mult", a, b)
    return a * b


a1 = expensive_add(4, 3)
a2 = expensive_add(1, 1)
result = expensive_mult(a1, a2)
graph = vis.visualize_lineage(result)
print("result", result, type(graph).__name__)
print("parents", sorted(a.name for a in p.dependencies(result) if a.id != result.artifact.id))
graph.render(filename="lineage", format="svg", cleanup=True)
"""


def run(source: str, cwd: Path, db_url: str) -> str:
    script = cwd / "script.py"
    script.write_text(f"DB_URL = {db_url!r}\n" + textwrap.dedent(source))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("PROVENANCE_HOME", None)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    # A clean run prints nothing on stderr: no warning, no exit noise.
    assert out.stderr == "", out.stderr
    return out.stdout


def bare_url(url: str) -> str:
    """The test server's URL as the original's users wrote one: no driver named."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.mark.postgres
def test_the_original_basic_example_runs_unchanged(postgres_url: str, tmp_path: Any) -> None:
    url = bare_url(postgres_url)
    assert run(BASIC, tmp_path, url) == "Executed\n5\n"
    assert run(BASIC, tmp_path, url) == "5\n"  # a hit, in a new process
    assert any((tmp_path / "artifacts").rglob("*"))  # the relative cachedir, as configured


@pytest.mark.postgres
def test_the_original_readme_snippets_run_unchanged(postgres_url: str, tmp_path: Any) -> None:
    pytest.importorskip("graphviz")
    url = bare_url(postgres_url)
    first = run(README, tmp_path, url)
    assert first.splitlines() == [
        "add 4 3",
        "add 1 1",
        "mult 7 2",
        "result 14 Digraph",
        "parents ['script.expensive_add', 'script.expensive_add']",  # named as importable
    ]
    assert (tmp_path / "lineage.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    second = run(README, tmp_path, url)
    assert second.splitlines() == first.splitlines()[3:]  # everything from the cache
