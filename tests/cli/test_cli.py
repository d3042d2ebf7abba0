"""The ``provenance`` command line, driven through the installed console script.

Every test runs the real ``provenance`` executable (one runs ``python -m
provenance``) in a subprocess against SQLite + disk repos made in a tmp dir
from a YAML config, populated in-process through the library first.  A
subprocess costs about a second of interpreter and import start-up, so each
test checks several things per call instead of making many calls.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

import provenance as p
from provenance import cli
from provenance.storage import schema

PROVENANCE = shutil.which("provenance")
pytestmark = pytest.mark.skipif(
    PROVENANCE is None, reason="the provenance console script is not installed (pip install -e .)"
)
HAS_DOT = shutil.which("dot") is not None


# Short explicit names keep the listings below readable (defaults are
# module-qualified: test_cli.load).
@p.provenance(version=2, tags=["raw"], name="load")
def load(n: int) -> list[int]:
    return list(range(n))


@p.provenance(name="big")
def big(n: int) -> bytes:
    # Larger than the inline limit: stored as a blob on disk.
    return bytes(range(256)) * n


@p.provenance(name="combine")
def combine(a: Any, b: Any, alpha: float = 0.5) -> int:
    return len(a) + len(b)


@p.provenance()
def make(n: int) -> int:
    return n


def write_config(tmp_path: Path) -> Path:
    """A YAML config with two SQLite + disk repos: ``local`` (the default) and ``team``."""
    config = {
        "blobstores": {
            name: {"type": "disk", "cachedir": str(tmp_path / name / "blobs"), "delete": True}
            for name in ("local", "team")
        },
        "artifact_repos": {
            name: {"type": "sql", "db": f"sqlite:///{tmp_path / name / 'index.db'}",
                   "store": name, "delete": True}
            for name in ("local", "team")
        },
        "default_repo": "local",
    }  # fmt: skip
    path = tmp_path / "provenance.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The config file, loaded in this process too, with a small pipeline and a set.

    ``local`` holds ``combine(load(3), big(100))``, saved as the set ``experiment``.
    """
    path = write_config(tmp_path)
    p.load_yaml_config(path)
    with p.capture_set("experiment"):
        combine(load(3), big(100))
    return path


def ids() -> dict[str, str]:
    """The ids of the pipeline of :func:`config_file`, by name."""
    return {a.name: a.id for a in p.get_repo_by_name("local").find_artifacts()}


def run_many(
    *calls: Sequence[Any],
    env: dict[str, str] | None = None,
    envs: Sequence[dict[str, str]] | None = None,
) -> list[Any]:
    """Run several ``provenance`` commands at once (independent ones: start-up dominates).

    Each call is a sequence of arguments; a call starting with ``"-m"`` runs
    ``python -m provenance`` instead of the console script.  ``env`` adds to
    the environment of every call, ``envs`` to that of each.
    """
    # A config named by the caller's own environment must not leak in.
    base = {k: v for k, v in os.environ.items() if k != cli.CONFIG_ENV}
    procs = []
    for i, call in enumerate(calls):
        args = [str(a) for a in call]
        if args[:1] == ["-m"]:
            command = [sys.executable, "-m", "provenance", *args[1:]]
        else:
            command = [str(PROVENANCE), *args]
        procs.append(
            subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**base, **(env or {}), **(envs[i] if envs else {})},
            )
        )
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def run(*args: Any, code: int = 0, env: dict[str, str] | None = None) -> Any:
    """Run ``provenance ARGS``; check the exit status and return the finished process."""
    return check(run_many(args, env=env)[0], code)


def check(done: Any, code: int = 0) -> Any:
    """``done`` after checking its exit status (and that a failure shows no traceback)."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    if code != 0:
        assert "Traceback" not in done.stderr
    return done


def one_error_line(done: Any) -> str:
    """The single line a failing command printed on stderr."""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("provenance: error: ")
    return lines[0]


def table(text: str) -> list[list[str]]:
    """The cells of a table printed by the command line (split on 2+ spaces)."""
    import re

    return [re.split(r" {2,}", line.strip()) for line in text.strip().splitlines()]


# -- help ------------------------------------------------------------------------


def test_help_lists_every_command_and_each_command_has_help() -> None:
    out = run("--help").stdout
    for command in cli.COMMANDS:
        assert command.name in out
    assert "--repo" in out and "--config" in out and "--debug" in out
    # Each command's own --help, without a subprocess apiece.
    parser = cli.build_parser()
    choices = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in cli.COMMANDS:
        text = choices[command.name].format_help()
        assert "--repo" in text and "--config" in text
        assert (command.description or command.help).split()[0] in text


# -- listing and showing -----------------------------------------------------------


def test_ls_lists_newest_first_in_an_aligned_table(config_file: Path) -> None:
    known = ids()
    done, named, cut = map(
        check,
        run_many(
            ["ls", "--config", config_file],
            ["ls", "--config", config_file, "--name", "big", "--limit", "1"],
            ["--config", config_file, "ls", "--limit", "2"],
        ),
    )
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "VERSION", "SIZE", "INPUTS", "COMPUTED", "AT"]
    rows = table(done.stdout)[1:]
    assert [r[1] for r in rows] == ["combine", "big", "load"]
    assert [r[0] for r in rows] == [known[n][:12] for n in ("combine", "big", "load")]
    assert rows[1][2:4] == ["0", "25.0 KiB"] and rows[2][2] == "2"
    # Aligned: every row puts its name under NAME.
    assert {line.index(name) for line, name in zip(lines, ["NAME", "combine", "big", "load"])} == {
        lines[0].index("NAME")
    }
    assert [r[1] for r in table(named.stdout)[1:]] == ["big"] and named.stderr == ""
    assert [r[1] for r in table(cut.stdout)[1:]] == ["combine", "big"]
    assert "--limit 0" in cut.stderr


def test_show_by_unique_prefix(config_file: Path) -> None:
    known = ids()
    shown, tagged = map(
        check,
        run_many(
            ["show", known["combine"][:6], "--config", config_file],
            ["show", known["load"], "--config", config_file],
        ),
    )
    out = shown.stdout
    fields = dict(r for r in table(out) if len(r) == 2)
    assert fields["artifact"] == known["combine"]
    assert fields["name"] == "combine"
    assert fields["function"] == f"{__name__}.combine"
    assert fields["alpha"] == "0.5"
    assert fields["a"] == f"<artifact {known['load'][:12]}>"
    assert fields["user"] and fields["python_version"] == ".".join(map(str, sys.version_info[:3]))
    parents = out.split("lineage parents\n")[1].split("\n\n")[0]
    assert {tuple(r) for r in table(parents)} == {
        (known["load"][:12], "load v2", "as a"),
        (known["big"][:12], "big v0", "as b"),
    }
    assert "tags         raw" in tagged.stdout
    assert "lineage parents\n  (none)" in tagged.stdout


def test_ambiguous_unknown_and_malformed_ids_are_one_line_errors(config_file: Path) -> None:
    # Make artifacts until two ids share their first digit.
    first: dict[str, str] = {}
    n = 0
    while True:
        artifact_id = make(n).artifact.id
        if artifact_id[0] in first:
            break
        first[artifact_id[0]] = artifact_id
        n += 1
    prefix = artifact_id[0]
    every = set(p.get_repo_by_name("local").index.iter_ids())
    unknown = next(
        f"{i:04x}" for i in range(1 << 16) if not any(a.startswith(f"{i:04x}") for a in every)
    )
    ambiguous, missing, bad, no_set = (
        one_error_line(check(done, 1))
        for done in run_many(
            ["show", prefix, "--config", config_file],
            ["show", unknown, "--config", config_file],
            ["lineage", "../etc", "--config", config_file],
            ["set", "nope", "--config", config_file],
        )
    )
    assert "ambiguous" in ambiguous
    assert artifact_id[:12] in ambiguous and first[prefix][:12] in ambiguous
    assert f"no artifact id starts with '{unknown}'" in missing
    assert "invalid artifact id '../etc'" in bad and "prefix" in bad
    assert "no artifact set named 'nope'" in no_set


def test_lineage_prints_a_text_tree_without_o(config_file: Path, tmp_path: Path) -> None:
    known = ids()
    top = known["combine"]
    tree, shallow, saved = map(
        check,
        run_many(
            ["lineage", top[:8], "--config", config_file],
            ["lineage", top, "--depth", "0", "--no-literals", "--config", config_file],
            ["lineage", top, "-o", tmp_path / "tree.txt", "--config", config_file],
        ),
    )
    here = f"{__name__}".rpartition(".")[2]
    assert tree.stdout.splitlines() == [
        f"{top[:12]}  combine  {here}.combine() v0",
        f"├── a: {known['load'][:12]}  load  {here}.load() v2",
        "│   └── n = int 3",
        f"├── b: {known['big'][:12]}  big  {here}.big() v0",
        "│   └── n = int 100",
        "└── alpha = float 0.5",
    ]
    assert "<svg" not in tree.stdout and tree.stderr == ""
    assert shallow.stdout.splitlines() == [
        f"{top[:12]}  combine  {here}.combine() v0",
        "└── … 2 more input artifacts, deeper than the depth",
    ]
    assert (tmp_path / "tree.txt").read_text() == tree.stdout
    assert f"wrote the lineage of {top[:12]} to" in saved.stderr


@pytest.mark.skipif(not HAS_DOT, reason="graphviz's dot program is not installed")
def test_lineage_writes_svg_png_and_dot(config_file: Path, tmp_path: Path) -> None:
    top = ids()["combine"]
    _, _, dot = map(
        check,
        run_many(
            ["lineage", top[:8], "-o", tmp_path / "l.svg", "--config", config_file],
            ["lineage", top, "--format", "png", "-o", tmp_path / "l.out", "--config", config_file],
            ["lineage", top, "--format", "dot", "--config", config_file],
        ),
    )
    svg = (tmp_path / "l.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "combine" in svg
    assert (tmp_path / "l.out").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert dot.stdout.startswith("digraph")
    assert "load" in dot.stdout and "big" in dot.stdout and "alpha" in dot.stdout


def test_sets_and_set(config_file: Path) -> None:
    saved = p.load_set_by_name("experiment")
    listed, shown = map(
        check,
        run_many(["sets", "--config", config_file], ["set", "experiment", "--config", config_file]),
    )
    rows = table(listed.stdout)
    assert rows[0] == ["ID", "NAME", "MEMBERS", "CREATED AT", "OTHER LABELS"]
    assert rows[1][:3] == [saved.id[:12], "experiment", "3"]
    assert f"set         {saved.id}" in shown.stdout
    members = table(shown.stdout.split("\n\n")[1])
    assert [r[1] for r in members[1:]] == ["combine", "big", "load"]


# -- maintenance -------------------------------------------------------------------


def test_promote_an_id_then_a_set_and_list_the_target_with_repo(config_file: Path) -> None:
    known = ids()
    first = run("promote", known["load"][:6], "--to", "team", "--progress", "--config", config_file)
    assert "copied 1 artifacts" in first.stdout
    assert "promote" in first.stderr  # the progress bar
    second = run("promote", "--set", "experiment", "--to", "team", "--config", config_file)
    assert "set experiment (3 artifacts)" in second.stdout and "copied 2 artifacts" in second.stdout
    listed = table(run("ls", "--repo", "team", "--config", config_file).stdout)
    assert sorted(r[1] for r in listed[1:]) == ["big", "combine", "load"]
    team = p.get_repo_by_name("team")
    assert p.load_set_by_name("experiment", repo=team).artifact_ids == set(known.values())
    assert team.get_artifact(known["big"]).value == bytes(range(256)) * 100


def test_verify_passes_then_finds_a_corrupted_blob(config_file: Path) -> None:
    assert "checked 3 artifacts: all values intact" in run("verify", "--config", config_file).stdout
    damaged = p.get_repo_by_name("local").get_artifact(ids()["big"])
    path = p.get_repo_by_name("local").blobstore.local_path(damaged.blob_id)
    with open(path, "r+b") as f:
        f.write(b"\x00\x01\x02")
    done = run("verify", "--progress", "--config", config_file, code=1)
    rows = table(done.stdout)
    assert rows[0] == ["PROBLEM", "ARTIFACT", "NAME", "DETAIL"]
    assert rows[1][:3] == ["corrupt", damaged.id, "big"] and len(rows) == 2
    assert "3/3" in done.stderr  # the progress bar reached the end
    assert "checked 3 artifacts: 1 problem\n" in done.stderr


def test_gc_dry_run_deletes_nothing_and_gc_deletes_only_orphans(config_file: Path) -> None:
    store = p.get_repo_by_name("local").blobstore
    kept = set(store.keys())
    orphan = "ab" * 16
    store.put(orphan, b"nobody refers to me")
    # Neither a dry run nor the default grace period (the blob is brand new) deletes it.
    dry, recent = map(
        check,
        run_many(
            ["gc", "--dry-run", "--grace-period", "0", "--config", config_file],
            ["gc", "--config", config_file],
        ),
    )
    assert dry.stdout.split() == [orphan] and "would be deleted" in dry.stderr
    assert recent.stdout == "" and "1 recent blobs left alone" in recent.stderr
    assert store.exists(orphan)
    done = run("gc", "--grace-period", "0", "--config", config_file)
    assert done.stdout.split() == [orphan] and "freed 19 B" in done.stderr
    assert set(store.keys()) == kept
    assert p.verify("local").ok


def test_db_upgrade_brings_an_outdated_schema_to_the_head(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema._alembic_config(conn), "0001")
    config = {
        "blobstores": {"d": {"type": "disk", "cachedir": str(tmp_path / "blobs")}},
        "artifact_repos": {"old": {"type": "sql", "db": url, "store": "d"}},
    }
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(config))
    outdated = one_error_line(run("ls", "--config", path, code=1))
    assert "provenance db upgrade" in outdated
    done = run("db", "upgrade", "--config", path)
    assert f"upgraded schema 0001 -> {schema.SCHEMA_HEAD}" in done.stdout
    assert schema.current_revision(engine) == schema.SCHEMA_HEAD


# -- configuration and errors ---------------------------------------------------------


def test_errors_are_one_line_unless_debug(config_file: Path, tmp_path: Path) -> None:
    unknown, debug, missing = run_many(
        ["ls", "--repo", "nope", "--config", config_file],
        ["--debug", "ls", "--repo", "nope", "--config", config_file],
        ["sets", "--config", tmp_path / "nowhere.yaml"],
    )
    message = one_error_line(check(unknown, 1))
    assert "no repo named 'nope'" in message and "local, team" in message
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "RepoNotFound" in debug.stderr
    assert "nowhere.yaml" in one_error_line(check(missing, 1))


def test_default_repo_from_the_environment_and_python_m(tmp_path: Path) -> None:
    # The tests' PROVENANCE_HOME holds the default repo when no config is given.
    made = big(30)
    empty = tmp_path / "empty"
    path = write_config(tmp_path)
    listed, nothing, configured = run_many(
        ["-m", "ls"],
        ["ls"],
        ["sets"],
        envs=[
            {},
            {"PROVENANCE_HOME": str(empty)},
            {"PROVENANCE_HOME": str(empty), "PROVENANCE_CONFIG": str(path)},
        ],
    )
    assert table(check(listed).stdout)[1][:2] == [made.artifact.id[:12], "big"]
    # No repository there: an error rather than a new empty repo.
    assert "no repository at" in one_error_line(check(nothing, 1)) and not empty.exists()
    # PROVENANCE_CONFIG stands for --config.
    assert check(configured).stdout == "" and "no artifact sets" in configured.stderr


def test_output_helpers() -> None:
    assert cli.format_size(None) == "-"
    assert cli.format_size(512) == "512 B"
    assert cli.format_size(1536) == "1.5 KiB"
    assert cli.format_size(3 << 30) == "3.0 GiB"
    assert cli.format_duration(0.0000042) == "4 µs"
    assert cli.format_duration(0.25) == "250 ms"
    assert cli.format_duration(125) == "2 min 5 s"
    assert cli.format_table(["A", "BB"], [[1, "x"], [100, "yyy"]], "><") == (
        "  A  BB\n  1  x\n100  yyy"
    )
    assert cli.format_time(None) == "-"
    stamp = time.strftime("%Y-%m-%d", time.localtime())
    from datetime import datetime, timezone

    assert cli.format_time(datetime.now(timezone.utc)).startswith(stamp)


# -- the client view ---------------------------------------------------------------


def test_flows_runs_and_view_show_the_client_view(config_file: Path) -> None:
    with p.run("TrainFlow", tags=["exp-1"]) as first:
        combine(load(3), big(100))
    with p.run("TrainFlow", tags=["exp-2"]) as second:
        loaded = load(4)
    with pytest.raises(ZeroDivisionError), p.run("TrainFlow"):
        make(1) / 0
    other_user = {"PROVENANCE_USER": "someone-else"}
    me = {"PROVENANCE_USER": os.environ.get("PROVENANCE_USER") or os.environ.get("USER") or ""}
    flows, runs, tagged, view_run, view_step, view_task, view_data, missing, mine_only = run_many(
        ("--config", config_file, "flows"),
        ("--config", config_file, "runs", "TrainFlow"),
        ("--config", config_file, "runs", "TrainFlow", "--tag", "exp-1"),
        ("--config", config_file, "view", second.pathspec),
        ("--config", config_file, "view", f"{first.pathspec}/load"),
        ("--config", config_file, "view", f"{second.pathspec}/load/1"),
        ("--config", config_file, "view", f"{second.pathspec}/load/1/load"),
        ("--config", config_file, "view", "TrainFlow/99"),
        ("--config", config_file, "flows"),
        envs=[me, me, me, me, me, me, me, me, other_user],
    )
    assert table(check(flows).stdout)[1][:3] == ["TrainFlow", "TrainFlow/3", "failed"]
    rows = table(check(runs).stdout)
    assert [r[0] for r in rows[1:]] == ["3", "2", "1"]
    assert [r[1] for r in rows[1:]] == ["failed", "successful", "successful"]
    assert [r[0] for r in table(check(tagged).stdout)[1:]] == ["1"]
    text = check(view_run).stdout
    assert "status       successful" in text and "exp-2" in text and "load" in text
    step_rows = table(check(view_step).stdout)
    assert step_rows[-1][0] == "1" and step_rows[-1][3] == "hit"  # computed by the fixture
    task = check(view_task).stdout
    assert loaded.artifact.id in task and '"n": 4' in task
    assert check(view_data).stdout.strip().endswith("[0, 1, 2, 3]")
    assert "does not exist" in one_error_line(check(missing, 1))
    assert check(mine_only).stdout == "" and "no flows" in mine_only.stderr


def test_view_shows_a_flow_task_s_output_and_its_data(config_file: Path) -> None:
    import io

    from provenance.flow import FlowSpec, run_flow, step

    class Printing(FlowSpec):
        @step
        def start(self):
            print("hello from start")
            self.greeting = "hi"
            self.next(self.end)

        @step
        def end(self):
            pass

    run_flow(Printing, echo=io.StringIO())
    again = run_flow(Printing, echo=io.StringIO())
    computed, cached, run_view = run_many(
        ("--config", config_file, "view", "Printing/1/start/1"),
        ("--config", config_file, "view", f"{again.pathspec}/start/1"),
        ("--config", config_file, "view", again.pathspec),
    )
    text = check(computed).stdout
    assert "stdout:\nhello from start" in text and "greeting" in text
    assert "_stdout" not in text  # the output is not one of the task's artifacts
    text = check(cached).stdout
    assert "origin      Printing/1/start/1" in text
    assert "stdout (replayed from the origin):\nhello from start" in text
    assert "runtime:flowspec" in check(run_view).stdout
