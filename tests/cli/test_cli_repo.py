"""``provenance init`` and ``provenance info``, in subprocesses run from a project's directories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROVENANCE = shutil.which("provenance")
pytestmark = pytest.mark.skipif(PROVENANCE is None, reason="the console script is not installed")


def run(where: Path, *args: str, code: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    done = subprocess.run(
        [str(PROVENANCE), *args], cwd=where, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == code, (done.stdout, done.stderr)
    return done


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "proj" / "notebooks").mkdir(parents=True)
    return tmp_path / "proj"


def test_info_before_any_repository_makes_none(project: Path) -> None:
    done = run(project / "notebooks", "info")
    assert "no repository yet" in done.stdout and str(project / "notebooks") in done.stdout
    assert not (project / "notebooks" / ".provenance").exists()
    listed = run(project / "notebooks", "ls", code=1)
    assert "run `provenance init`" in listed.stderr


def test_init_makes_a_repository_that_subdirectories_find(project: Path) -> None:
    made = run(project, "init")
    assert f"made a repository in {project / '.provenance'}" in made.stdout
    assert (project / ".provenance" / "provenance.db").is_file()
    assert (project / ".provenance" / "blobs").is_dir()
    again = run(project, "init")
    assert "is a repository already" in again.stdout
    info = json.loads(run(project / "notebooks", "info", "--json").stdout)
    assert info["home"] == str(project / ".provenance") and info["config_file"] is None
    assert "the nearest .provenance/" in info["chosen_by"]
    assert info["default_repo"] == "default"
    (repo,) = info["repos"]
    assert str(project / ".provenance" / "provenance.db") in repo["index"]
    assert repo["flags"] == ["read", "write", "delete"] and repo["trusted"]
    listed = run(project / "notebooks", "ls")
    assert "no artifacts" in listed.stderr


def test_init_yaml_writes_a_config_with_relative_paths(project: Path) -> None:
    run(project, "init", "--yaml")
    text = (project / "provenance.yaml").read_text()
    assert "cachedir: .provenance/blobs" in text
    shown = run(project / "notebooks", "info").stdout
    assert f"config file   {project / 'provenance.yaml'}" in shown
    assert f"in {project}, above {project / 'notebooks'}" in shown
    assert f"sqlite:///{project / '.provenance' / 'provenance.db'}" in shown
    # Not overwritten.
    refused = run(project, "init", "--yaml", code=1)
    assert "exists already" in refused.stderr
    # A nested repository takes over below it, and says so.
    nested = run(project / "notebooks", "init")
    assert f"instead of {project / '.provenance'}" in nested.stdout
    assert "the current directory" in run(project / "notebooks", "info").stdout


def test_info_names_the_environment_and_config_it_was_given(project: Path, tmp_path: Path) -> None:
    run(project, "init", "--yaml")
    home = tmp_path / "home"
    shown = run(project, "info", PROVENANCE_HOME=str(home)).stdout
    assert "$PROVENANCE_HOME names it" in shown and "no repository yet" in shown
    given = run(project / "notebooks", "info", "--config", str(project / "provenance.yaml"))
    assert "given with --config" in given.stdout
    bad = run(project, "info", "--repo", "nope", code=1)
    assert "no repo named 'nope'" in bad.stderr
    missing = run(project, "init", "nowhere", code=1)
    assert "'nowhere' is not a directory" in missing.stderr
