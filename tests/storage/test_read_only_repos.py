"""Repositories this process cannot write (issue 15, item 3).

A published repo on a read-only mount, another user's files, a repo
configured ``write: false``: reads, cache hits and ``provenance ls`` work,
a miss computes and warns that it cannot store, and explicit writes raise
:class:`provenance.PermissionDenied` naming the repo.  The mounts are real
(``mount --bind`` then ``remount,ro``); tests that need them skip when the
process may not mount.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import provenance as p
from provenance import recording

ROOT = Path(__file__).resolve().parents[2]


def config(root: Path, **flags: Any) -> dict[str, Any]:
    return {
        "blobstores": {"disk": {"type": "disk", "cachedir": str(root / "blobs"), **flags}},
        "artifact_repos": {
            "shared": {
                "type": "sql",
                "db": f"sqlite:///{root / 'index.db'}",
                "store": "disk",
                **flags,
            }
        },
        "default_repo": "shared",
    }


CALLS: list[int] = []


@p.provenance(name="square")
def square(x: int) -> list[int]:
    CALLS.append(x)
    return [x * x] * 2000  # a blob of its own, beside the index


@p.provenance(name="small")
def small(x: int) -> int:
    CALLS.append(-x)
    return x + 1  # kept in the index row


def publish(root: Path) -> None:
    """A repo with values in it, closed (as a published one is: no WAL files left)."""
    p.load_config(config(root))
    square(3)
    small(3)
    with p.capture_set("published"):
        square(3)
    recording.flush()
    recording.end_implicit_runs()
    p.get_default_repo().index.dispose()
    p.set_default_repo(None)
    wal = root / "index.db-wal"  # a reader may leave an empty one behind
    assert not wal.exists() or wal.stat().st_size == 0


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """Make ``bind(src)`` a real read-only view of ``src``; unmounted at the end."""
    mounted: list[Path] = []

    def bind(src: Path) -> Path:
        target = tmp_path / f"ro{len(mounted)}"
        target.mkdir()
        try:
            _mount("--bind", str(src), str(target))
        except (OSError, subprocess.CalledProcessError) as exc:
            target.rmdir()
            pytest.skip(f"cannot bind-mount a directory here (needs root): {exc}")
        mounted.append(target)
        _mount("-o", "remount,ro,bind", str(target))
        with pytest.raises(OSError):
            (target / "probe").write_text("x")
        return target

    yield bind
    for target in reversed(mounted):
        p.set_default_repo(None)
        subprocess.run(["umount", "-l", str(target)], check=False)


def check_reads(root: Path) -> None:
    """What a user of the read-only repo at ``root`` gets."""
    cfg = p.load_config(config(root))
    repo = cfg.repos["shared"]
    assert not repo.write and "read-only" in str(repo.cannot_write)
    CALLS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # hits, loads and recording say nothing
        hit = square(3)
        assert hit == [9] * 2000 and small(3) == 4
        assert CALLS == []
        assert p.load_artifact(hit.artifact.id).value == [9] * 2000
        assert [a.name for a in repo.find_artifacts()].count("square") == 1
        assert p.load_set_by_name("published").artifact_ids == {hit.artifact.id}
        assert p.verify().ok
        recording.flush()
    with pytest.warns(RuntimeWarning, match="cannot be written.*read-only.*not stored"):
        miss = square(4)
    assert miss == [16] * 2000 and CALLS == [4]
    assert miss.artifact.id == square.artifact_id(4) and repo.lookup(miss.artifact.id) is None
    with pytest.raises(p.PermissionDenied, match="'shared'.*cannot be written.*read-only"):
        p.create_set([hit.artifact.id], "mine")
    with pytest.raises(p.PermissionDenied, match="'shared'"):
        repo.store_bytes(b"x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recording.flush()
        recording.end_implicit_runs()


def test_a_repo_on_a_read_only_mount_reads_hits_and_computes(
    tmp_path: Path, read_only_mount: Callable[[Path], Path]
) -> None:
    publish(tmp_path / "src")
    before = sorted(os.listdir(tmp_path / "src"))
    check_reads(read_only_mount(tmp_path / "src"))
    assert sorted(os.listdir(tmp_path / "src")) == before


def test_a_read_only_mount_of_a_repo_in_use_sees_its_writes(
    tmp_path: Path, read_only_mount: Callable[[Path], Path]
) -> None:
    # The WAL files of a repo in use exist: the read-only view reads through
    # them (mode=ro), and sees what the writer commits later.
    src = tmp_path / "src"
    publish(src)
    writer = p.load_config(config(src)).repos["shared"]
    square(5)
    assert (src / "index.db-wal").exists()
    ro = read_only_mount(src)
    reader = p.load_config(config(ro)).repos["shared"]
    assert reader.lookup(square.artifact_id(5)) is not None
    assert writer.lookup(square.artifact_id(5)) is not None


def test_provenance_ls_lists_a_read_only_repo(
    tmp_path: Path, read_only_mount: Callable[[Path], Path]
) -> None:
    publish(tmp_path / "src")
    ro = read_only_mount(tmp_path / "src")
    cfg = tmp_path / "provenance.yaml"
    cfg.write_text(yaml.safe_dump(config(ro)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROVENANCE_HOME": str(tmp_path / "home")}
    env.pop("PROVENANCE_CONFIG", None)
    for args in (["ls"], ["ls", "--repo", "shared"], ["verify"]):
        done = subprocess.run(
            [sys.executable, "-m", "provenance", "--config", str(cfg), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "readonly" not in done.stderr and "Traceback" not in done.stderr
    assert (
        "square"
        in subprocess.run(
            [sys.executable, "-m", "provenance", "--config", str(cfg), "ls"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        ).stdout
    )


def test_write_false_opens_the_index_read_only_and_refuses_writes(tmp_path: Path) -> None:
    root = tmp_path / "src"
    publish(root)
    index = root / "index.db"
    stamp = index.stat().st_mtime_ns, index.read_bytes()
    cfg = p.load_config(config(root, write=False))
    repo = cfg.repos["shared"]
    assert repo.index.read_only == "write: false" and repo.cannot_write is None
    CALLS.clear()
    assert square(3) == [9] * 2000 and CALLS == []
    with pytest.warns(RuntimeWarning, match="read-only"):
        square(6)
    with pytest.raises(p.PermissionDenied, match=r"'shared'.*not configured to write"):
        p.create_set([square.artifact_id(3)], "mine")
    with pytest.raises(p.PermissionDenied, match="'shared'"):
        repo.put_row({"id": "x"})
    recording.flush()
    recording.end_implicit_runs()
    repo.index.dispose()
    assert (index.stat().st_mtime_ns, index.read_bytes()) == stamp
    wal = root / "index.db-wal"  # a reader may leave an empty one behind
    assert not wal.exists() or wal.stat().st_size == 0


def _as_nobody(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a forked child that has become the user ``nobody``; its result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (the child)
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            result: Any = ("ok", fn())
        except BaseException as exc:
            result = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        with os.fdopen(write, "wb") as out:
            pickle.dump(result, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    status, value = pickle.loads(data)
    assert status == "ok", value
    return value


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A directory outside pytest's private tmp tree, which other users can reach."""
    path = Path(tempfile.mkdtemp(prefix="provenance-ro-"))
    path.chmod(0o755)
    yield path
    for sub in [path, *path.rglob("*")]:
        if sub.is_dir():
            sub.chmod(0o755)
    shutil.rmtree(path)


def test_another_users_repo_is_read_only_for_this_user(
    world_readable_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root, to hand the repo's files to another user")
    root = world_readable_dir / "src"
    publish(root)
    for path in [root, *root.rglob("*")]:
        os.chown(path, 0, 0)
        path.chmod(0o555 if path.is_dir() else 0o444)
    home = world_readable_dir / "nobody-home"
    home.mkdir()
    home.chmod(0o777)
    monkeypatch.setenv("PROVENANCE_HOME", str(home))
    monkeypatch.chdir(home)

    def reads() -> tuple[bool, str | None, list[int], list[int]]:
        cfg = p.load_config(config(root))
        repo = cfg.repos["shared"]
        CALLS.clear()
        hit = square(3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            miss = small(9)
        recording.flush()
        return repo.write, repo.cannot_write, list(hit[:1]) + [miss], list(CALLS)

    writes, why, values, calls = _as_nobody(reads)
    assert writes is False and "read-only for this user" in str(why)
    assert values == [9, 10] and calls == [-9]
