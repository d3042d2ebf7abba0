"""The repository a script finds, and relative paths in configs (issue: everyday use, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import provenance as p
from provenance import config

CONFIG = """\
blobstores:
  blobs: {type: disk, cachedir: store/blobs, delete: true}
artifact_repos:
  local: {type: sql, db: store/index.db, store: blobs, delete: true}
default_repo: local
"""

PIPELINE = """\
import sys
import provenance as p

@p.provenance()
def double(x):
    print("computed", x)
    return 2 * x

print(double(int(sys.argv[1])).artifact.id)
print(p.get_default_repo())
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PROVENANCE_HOME")
    (tmp_path / "proj" / "notebooks").mkdir(parents=True)
    (tmp_path / "proj" / "pipeline.py").write_text(PIPELINE)
    return tmp_path / "proj"


def run_script(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    done = subprocess.run(
        [sys.executable, *args], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


def test_a_script_run_from_a_subdirectory_uses_the_project_s_repository(project: Path) -> None:
    first = run_script(project, "pipeline.py", "3")
    assert first.stdout.startswith("computed 3") and (project / ".provenance").is_dir()
    again = run_script(project / "notebooks", "../pipeline.py", "3")
    # A hit in the project's repository, and no empty repository in notebooks/.
    assert "computed" not in again.stdout
    assert again.stdout.split()[0] == first.stdout.split()[2]
    assert not (project / "notebooks" / ".provenance").exists()
    assert str(project / ".provenance" / "provenance.db") in again.stdout


def test_a_provenance_yaml_above_is_loaded_with_paths_relative_to_it(project: Path) -> None:
    (project / "provenance.yaml").write_text(CONFIG)
    done = run_script(project / "notebooks", "../pipeline.py", "4")
    assert done.stdout.startswith("computed 4")
    assert (project / "store" / "index.db").exists()
    assert any((project / "store" / "blobs").iterdir())
    assert not (project / "notebooks" / "store").exists()
    assert not (project / ".provenance" / "provenance.db").exists()


def test_in_process_the_config_found_says_why(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "provenance.yaml").write_text(CONFIG)
    monkeypatch.chdir(project / "notebooks")
    cfg = config.current_config()
    assert cfg.file == str(project / "provenance.yaml")
    assert cfg.reason is not None and "the nearest provenance.yaml" in cfg.reason
    assert config.provenance_home() == str(project / ".provenance")
    # Loaded by the program: no reason, no file.
    assert p.load_config(p.current_config().source).reason is None


def test_relative_paths_in_a_yaml_file_are_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "c7.yaml").write_text(
        textwrap.dedent(
            """\
            blobstores:
              blobs: {type: disk, cachedir: c7/blobs}
              chain: {type: chained, stores: [blobs, {type: disk, path: c7/more}]}
            artifact_repos:
              a: {type: sql, db: "sqlite:///c7/index.db", store: blobs}
              b: {type: sqlite, db: c7/b.db, store: {type: disk, cachedir: ~/elsewhere}}
              m: {type: sql, db: "sqlite:///c7/m.db?timeout=5", store: chain}
              n: {type: sql, db: "sqlite:///ABS/x.db", store: chain, write: false,
                  create_db: false}
            default_repo: a
            """
        )
    )
    absolute = tmp_path / "abs"
    absolute.mkdir()
    yaml_file = tmp_path / "c7.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("ABS", str(absolute)))
    monkeypatch.chdir(tmp_path / "sub")
    cfg = p.load_yaml_config("../c7.yaml")
    assert cfg.file == str(tmp_path / "c7.yaml")
    assert cfg.blobstores["blobs"].cachedir == str(tmp_path / "c7" / "blobs")
    assert str(cfg.repos["a"].index.url) == f"sqlite:///{tmp_path / 'c7' / 'index.db'}"
    assert str(cfg.repos["b"].index.url) == f"sqlite:///{tmp_path / 'c7' / 'b.db'}"
    assert cfg.repos["b"].blobstore.cachedir == os.path.expanduser("~/elsewhere")
    assert [s.cachedir for s in cfg.blobstores["chain"].stores][1] == str(tmp_path / "c7" / "more")
    assert str(cfg.repos["m"].index.url) == f"sqlite:///{tmp_path / 'c7' / 'm.db'}?timeout=5"
    assert str(cfg.repos["n"].index.url) == f"sqlite:///{absolute / 'x.db'}"  # as it was
    assert not (tmp_path / "sub" / "c7").exists()


def test_relative_paths_in_a_dict_are_fixed_when_it_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = p.load_config(
        {
            "blobstores": {"b": {"type": "disk", "cachedir": "blobs"}},
            "artifact_repos": {"r": {"type": "sql", "db": "sqlite:///index.db", "store": "b"}},
            "default_repo": "r",
        }
    )
    (tmp_path / "later").mkdir()
    monkeypatch.chdir(tmp_path / "later")  # a chdir does not move the repository
    assert cfg.blobstores["b"].cachedir == str(tmp_path / "blobs")
    assert str(cfg.repos["r"].index.url) == f"sqlite:///{tmp_path / 'index.db'}"
    other = p.load_config(cfg.source, base_dir=tmp_path / "x")
    assert other.blobstores["b"].cachedir == str(tmp_path / "x" / "blobs")


def test_config_mistakes_a_careless_user_met_are_named(tmp_path: Path) -> None:
    with pytest.raises(p.ConfigError, match=r"load_yaml_config\(path\)"):
        p.load_config("file.yaml")  # type: ignore[arg-type]
    with pytest.raises(p.ConfigError, match=r"'blobstores.b.cachedir' must be a path.*got 5"):
        p.load_config({"blobstores": {"b": {"type": "disk", "cachedir": 5}}})
    with pytest.raises(p.ConfigError, match="'blobstores.b.cachedir' .* is missing"):
        p.load_config({"blobstores": {"b": {"type": "disk"}}})
    with pytest.raises(p.ConfigError, match=r"config file nowhere\.yaml does not exist"):
        p.load_yaml_config("nowhere.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("artifact_repos:\n  r: {type: sql, store: nothing}\n")
    with pytest.raises(p.ConfigError, match=rf"{bad}: 'artifact_repos.r.db'"):
        p.load_yaml_config(bad)
    gone = tmp_path / "gone" / "x.db"
    entry = {"type": "sql", "db": f"sqlite:///{gone}", "create_db": False}
    entry["store"] = {"type": "memory"}
    missing = {"artifact_repos": {"r": entry}}
    with pytest.raises(p.ConfigError, match=rf"directory of the SQLite index {gone} does not"):
        p.load_config(missing)
    assert not gone.parent.exists()
