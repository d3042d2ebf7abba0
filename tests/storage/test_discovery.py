"""Finding the repository of a directory, as git finds ``.git``."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.storage.discovery import CONFIG_ENV, HOME_ENV, locate


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``proj/`` with ``notebooks/deep/`` below it, and no environment pointing anywhere."""
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    (tmp_path / "proj" / "notebooks" / "deep").mkdir(parents=True)
    return tmp_path / "proj"


def test_nothing_found_means_a_new_repository_in_the_directory(project: Path) -> None:
    found = locate(str(project / "notebooks"))
    assert found.home == str(project / "notebooks" / ".provenance")
    assert found.config_file is None and not found.found
    assert "no provenance.yaml or .provenance/" in found.reason


def test_the_nearest_dot_provenance_above_is_found(project: Path) -> None:
    (project / ".provenance").mkdir()
    found = locate(str(project / "notebooks" / "deep"))
    assert found.home == str(project / ".provenance") and found.found
    assert found.config_file is None
    assert f"in {project}, above {project / 'notebooks' / 'deep'}" in found.reason
    # A nearer one wins, as a nested git repository does.
    (project / "notebooks" / ".provenance").mkdir()
    assert locate(str(project / "notebooks" / "deep")).home == str(
        project / "notebooks" / ".provenance"
    )
    assert "the current directory" in locate(str(project / "notebooks")).reason


def test_a_config_file_wins_over_the_directory_beside_it(project: Path) -> None:
    (project / ".provenance").mkdir()
    (project / "provenance.yaml").write_text("default_repo: x\n")
    found = locate(str(project / "notebooks"))
    assert found.config_file == str(project / "provenance.yaml")
    assert found.home == str(project / ".provenance")
    assert "the nearest provenance.yaml" in found.reason
    # A directory named provenance.yaml is not a config file.
    (project / "notebooks" / "provenance.yaml").mkdir()
    assert locate(str(project / "notebooks")).config_file == str(project / "provenance.yaml")


def test_the_environment_wins(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".provenance").mkdir()
    elsewhere = project.parent / "elsewhere"
    monkeypatch.setenv(HOME_ENV, str(elsewhere))
    found = locate(str(project))
    assert found.home == str(elsewhere) and not found.found and "$PROVENANCE_HOME" in found.reason
    config = project.parent / "team.yaml"
    config.write_text("default_repo: x\n")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    found = locate(str(project))
    # The config file from the environment, its local state still under $PROVENANCE_HOME.
    assert found.config_file == str(config) and found.home == str(elsewhere) and found.found
    monkeypatch.delenv(HOME_ENV)
    assert locate(str(project)).home == str(project.parent / ".provenance")
