"""The git state and the imported packages recorded in each artifact's run info."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import provenance as p
from provenance import runinfo, workspace
from provenance.workspace import git_state, module_packages

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git program")

SCRIPT = """\
import json
import yaml
from numpy import arange
import provenance as p

@p.provenance()
def total(n):
    return int(arange(n).sum())

result = total({n})
print(json.dumps(result.artifact.run_info))
"""


def git(where: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}  # fmt: skip
    done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                          env=env, check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def work_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "proj"
    tree.mkdir()
    git(tree, "init", "-q", "-b", "main")
    (tree / "notes.txt").write_text("one\n")
    git(tree, "add", "notes.txt")
    git(tree, "commit", "-q", "-m", "one")
    return tree


def test_commit_and_branch_are_read_without_git(
    work_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = git(work_tree, "rev-parse", "HEAD")
    (work_tree / "sub").mkdir()
    # No git program on the PATH: the commit comes from the files under .git.
    monkeypatch.setenv("PATH", "")
    state = git_state(str(work_tree / "sub"))
    assert state == {"root": str(work_tree), "commit": head, "branch": "main"}
    assert git_state(str(work_tree), dirty=True)["dirty"] is None  # type: ignore[index]
    assert git_state(str(work_tree.parent)) is None


def test_packed_refs_detached_heads_and_linked_work_trees(work_tree: Path) -> None:
    first = git(work_tree, "rev-parse", "HEAD")
    (work_tree / "notes.txt").write_text("two\n")
    git(work_tree, "commit", "-q", "-am", "two")
    second = git(work_tree, "rev-parse", "HEAD")
    git(work_tree, "gc", "-q")  # the branch moves into packed-refs
    assert not (work_tree / ".git" / "refs" / "heads" / "main").exists()
    assert git_state(str(work_tree))["commit"] == second  # type: ignore[index]
    git(work_tree, "checkout", "-q", "--detach", first)
    assert git_state(str(work_tree)) == {"root": str(work_tree), "commit": first, "branch": None}
    linked = work_tree.parent / "linked"
    git(work_tree, "worktree", "add", "-q", "-b", "side", str(linked), second)
    state = git_state(str(linked))
    assert state == {"root": str(linked), "commit": second, "branch": "side"}


def test_dirty_is_asked_of_git_status_and_reused_briefly(
    work_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert git_state(str(work_tree), dirty=True)["dirty"] is False  # type: ignore[index]
    (work_tree / "notes.txt").write_text("changed\n")
    # Within DIRTY_TTL the answer is reused; past it, asked again.
    assert git_state(str(work_tree), dirty=True)["dirty"] is False  # type: ignore[index]
    monkeypatch.setattr(workspace, "DIRTY_TTL", 0.0)
    assert git_state(str(work_tree), dirty=True)["dirty"] is True  # type: ignore[index]
    (work_tree / "untracked.txt").write_text("new\n")  # untracked files do not count
    (work_tree / "notes.txt").write_text("one\n")
    assert git_state(str(work_tree), dirty=True)["dirty"] is False  # type: ignore[index]


def test_an_artifact_records_the_git_state_and_its_module_s_packages(
    work_tree: Path, tmp_path: Path
) -> None:
    import numpy
    import yaml

    # A repository of this test's own: not one found above the tmp dir.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env["PROVENANCE_HOME"] = str(tmp_path / "repo")
    script = work_tree / "pipeline.py"

    def run(n: int) -> dict[str, Any]:
        script.write_text(SCRIPT.format(n=n))
        done = subprocess.run([sys.executable, str(script)], cwd=work_tree, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        import json

        return dict(json.loads(done.stdout))

    info = run(3)  # pipeline.py is untracked: the tree is clean
    assert info["git"] == {
        "root": str(work_tree), "commit": git(work_tree, "rev-parse", "HEAD"),
        "branch": "main", "dirty": False,
    }  # fmt: skip
    assert info["packages"] == {"numpy": numpy.__version__, "yaml": yaml.__version__}
    (work_tree / "notes.txt").write_text("edited\n")
    assert run(4)["git"]["dirty"] is True


def test_a_cache_hit_spawns_no_process(
    repo: Any, work_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @p.provenance()
    def twice(x: int) -> int:
        return 2 * x

    spawned: list[Any] = []
    real = subprocess.run

    def counting(*args: Any, **kwargs: Any) -> Any:
        spawned.append(args)
        return real(*args, **kwargs)

    # As if this test's code were in the work tree.
    monkeypatch.setattr(runinfo, "code_dir", lambda module: str(work_tree))
    monkeypatch.setattr(workspace, "DIRTY_TTL", 0.0)
    monkeypatch.setattr(subprocess, "run", counting)
    assert twice(1).artifact.run_info["git"]["dirty"] is False
    computed = len(spawned)
    assert computed == 1  # the miss asked git status, once
    for _ in range(5):
        twice(1)
    assert len(spawned) == computed
    with p.run("Hits"):
        twice(1)
    assert len(spawned) == computed


def test_module_packages_leave_out_the_standard_library_and_the_user_s_code() -> None:
    found = module_packages(__name__)
    assert "pytest" in found and found["pytest"] == pytest.__version__
    assert not {"os", "sys", "subprocess", "provenance", "pathlib"} & set(found)
    assert module_packages("no.such.module") == {}


def test_the_git_state_is_of_the_function_s_own_work_tree(work_tree: Path, tmp_path: Path) -> None:
    # The code lives in the work tree; the main script that imports it does not.
    (work_tree / "steps.py").write_text(
        "import provenance as p\n\n@p.provenance()\ndef step(n):\n    return n\n"
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    main = outside / "run.py"
    main.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(work_tree)!r})\n"
        "from steps import step\n"
        "print(json.dumps(step(5).artifact.run_info['git']))\n"
    )
    # A repository of this test's own: not one found above the tmp dir.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env["PROVENANCE_HOME"] = str(tmp_path / "repo")
    done = subprocess.run([sys.executable, str(main)], cwd=outside, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    import json

    assert json.loads(done.stdout)["root"] == str(work_tree), done.stderr
    # A tool's main script (pytest's here, installed) is not the user's code.
    assert workspace._start_dir() == os.getcwd()
    assert workspace.code_dir("json") == os.getcwd()  # the standard library neither
