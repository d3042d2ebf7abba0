"""provenance.files: File, identified by its contents, and the state table of file digests."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import pickle
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import cloudpickle
import pytest
import xxhash

import provenance as p
from provenance import files
from provenance.errors import HashingError
from provenance.files import File
from provenance.hashing import hash_value

OLD = time.time() - 3600  # an mtime old enough for the digest to be remembered


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    """No digest remembered in this process from another test."""
    files._memory.clear()
    files._states.clear()
    yield
    files._memory.clear()
    files._states.clear()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths whose bytes are read, in order."""
    seen: list[str] = []
    read = files._read_digest

    def counting(path: str) -> bytes:
        seen.append(path)
        return read(path)

    monkeypatch.setattr(files, "_read_digest", counting)
    return seen


def write(path: Any, data: bytes | str, mtime: float | None = OLD) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def h(path: Any) -> str:
    return hash_value(File(path))


def db_rows(home: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(os.path.join(home, "state", "files.db"))) as conn:
        return conn.execute("SELECT path, size, digest FROM files ORDER BY path").fetchall()


# --- the path-like object ----------------------------------------------------------------


def test_file_is_a_path(tmp_path: pathlib.Path) -> None:
    f = write(tmp_path / "a.txt", "one\ntwo\n")
    value = File(str(f))
    assert os.fspath(value) == str(value) == value.path == str(f)
    assert pathlib.Path(value) == f
    assert isinstance(value, os.PathLike)
    with open(value) as fh:
        assert fh.read() == "one\ntwo\n"
    assert repr(File("data/iris.csv")) == "File('data/iris.csv')"
    assert File(pathlib.Path("data/iris.csv")).path == "data/iris.csv"
    assert File(File("x")) == File("x")


def test_equality_is_by_path_text() -> None:
    assert File("a") == File("a")
    assert hash(File("a")) == hash(File("a"))
    assert File("a") != File("./a")
    assert File("a") != "a"
    assert len({File("a"), File("a"), File("b")}) == 2


@pytest.mark.parametrize("bad", [3, b"a.txt", None, ["a"]])
def test_other_types_are_rejected(bad: Any) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        File(bad)


@pytest.mark.parametrize(
    "dumps, loads", [(pickle.dumps, pickle.loads), (cloudpickle.dumps, pickle.loads)]
)
def test_pickles_by_path(dumps: Any, loads: Any) -> None:
    back = loads(dumps(File("data/iris.csv")))
    assert type(back) is File
    assert back == File("data/iris.csv")


def test_numpy_loads_it(tmp_path: pathlib.Path) -> None:
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "a.npy", np.arange(5))
    assert np.load(File(str(tmp_path / "a.npy"))).tolist() == [0, 1, 2, 3, 4]


# --- identity of a file ------------------------------------------------------------------


def test_identity_is_the_contents_not_the_path(tmp_path: pathlib.Path) -> None:
    a = write(tmp_path / "a.csv", "x,y\n1,2\n")
    b = write(tmp_path / "elsewhere" / "b.txt", "x,y\n1,2\n")
    c = write(tmp_path / "c.csv", "x,y\n1,3\n")
    assert h(a) == h(b) == h(pathlib.Path(os.path.relpath(b)))
    assert h(a) != h(c)
    # A str or a pathlib path is text: it hashes by the path, not the contents.
    assert h(a) != hash_value(str(a))
    assert h(a) != hash_value(a)


def test_digest_is_pinned(tmp_path: pathlib.Path) -> None:
    # Neither the path nor the module of File is part of the id: a reviewed decision.
    f = write(tmp_path / "f", b"hello")
    expected = xxhash.xxh3_128_hexdigest(b"file:" + xxhash.xxh3_128_digest(b"hello"))
    assert h(f) == expected == "4e699bb51ce0286a13057c4c8a8fb77d"


def test_a_file_in_a_container_hashes_as_its_contents(tmp_path: pathlib.Path) -> None:
    a = write(tmp_path / "a", "same")
    b = write(tmp_path / "b", "same")
    assert hash_value([File(a), 1]) == hash_value([File(b), 1])


def test_edit_changes_the_id_touch_does_not(tmp_path: pathlib.Path) -> None:
    f = write(tmp_path / "f.txt", "abcdef")
    before = h(f)
    write(f, "abcdeX", mtime=None)  # same size, new mtime
    edited = h(f)
    assert edited != before
    os.utime(f, (OLD - 10, OLD - 10))  # same bytes, new mtime
    assert h(f) == edited


def test_a_replaced_file_with_the_same_size_and_mtime_is_read_again(
    tmp_path: pathlib.Path, reads: list[str]
) -> None:
    f = write(tmp_path / "f", "aaaa")
    first = h(f)
    new = write(tmp_path / "g", "bbbb")
    os.replace(new, f)  # another inode; size and mtime are those of the old file
    assert h(f) != first
    assert len(reads) == 2


def test_an_unchanged_file_is_not_read_again(tmp_path: pathlib.Path, reads: list[str]) -> None:
    f = write(tmp_path / "big.bin", os.urandom(1 << 16))
    first = h(f)
    assert h(f) == h(File(str(f))) == first
    assert reads == [str(f.resolve())]
    files._memory.clear()  # a new process: served by the SQLite table
    assert h(f) == first
    assert len(reads) == 1
    assert db_rows(os.environ["PROVENANCE_HOME"]) == [
        (os.fsencode(f.resolve()), 1 << 16, bytes.fromhex(files.hash_file(f)))
    ]


def test_a_file_just_written_is_not_remembered(tmp_path: pathlib.Path, reads: list[str]) -> None:
    f = write(tmp_path / "new", "fresh", mtime=None)
    assert h(f) == h(f)
    assert len(reads) == 2
    assert files._memory == {}
    home = os.environ["PROVENANCE_HOME"]
    assert not os.path.exists(os.path.join(home, "state", "files.db")) or db_rows(home) == []
    os.utime(f, (OLD, OLD))  # once old enough it is remembered
    h(f)
    h(f)
    assert len(reads) == 3


_CHILD = """
import json, sys
from provenance import files
from provenance.hashing import hash_value
read = files._read_digest
seen = []
files._read_digest = lambda path: seen.append(path) or read(path)
out = []
for path in sys.argv[1:]:
    before = len(seen)
    out.append([hash_value(files.File(path)), len(seen) - before])
print(json.dumps(out))
"""


def test_the_state_table_is_shared_with_other_processes(
    tmp_path: pathlib.Path, reads: list[str]
) -> None:
    known = tmp_path / "known"
    write(known / "a.txt", "a")
    write(known / "sub" / "b.txt", "b")
    digest = h(known)
    assert len(reads) == 2
    new = tmp_path / "new"
    for i in range(30):
        write(new / f"f{i:02}", str(i))
    # Two processes at once: they find what this one stored, and both store the new tree.
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(known), str(new)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0, 0], outs
    results = [json.loads(out) for out, _ in outs]
    new_digest = results[0][1][0]
    for (known_id, known_reads), (new_id, new_reads) in results:
        assert (known_id, known_reads) == (digest, 0)  # the same id, and not one file read
        assert new_id == new_digest and new_reads <= 30
    assert len(db_rows(os.environ["PROVENANCE_HOME"])) == 32
    assert h(new) == new_digest
    assert len(reads) == 2  # the new tree was read by the children only


# --- identity of a directory -------------------------------------------------------------


def make_tree(root: pathlib.Path) -> pathlib.Path:
    write(root / "a.txt", "alpha")
    write(root / "sub" / "b.txt", "beta")
    write(root / "sub" / "deeper" / "c.bin", b"\x00\x01")
    return root


def test_the_same_tree_hashes_alike_anywhere(tmp_path: pathlib.Path) -> None:
    one = make_tree(tmp_path / "one")
    two = make_tree(tmp_path / "x" / "two")
    assert h(one) == h(two)
    assert h(one) != h(one / "sub")
    assert h(one / "sub") == h(two / "sub")


def test_a_directory_digest_is_pinned(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "d"
    write(root / "f", b"hello")
    (root / "empty").mkdir()
    x = xxhash.xxh3_128_digest

    def name(s: str) -> bytes:
        return x(b"str:" + s.encode())

    expected = x(b"dir:" + name("empty") + x(b"dir:") + name("f") + x(b"file:" + x(b"hello"))).hex()
    assert h(root) == expected


@pytest.mark.parametrize(
    "change",
    [
        lambda r: (r / "sub" / "b.txt").rename(r / "sub" / "B.txt"),
        lambda r: (r / "sub" / "b.txt").rename(r / "b.txt"),
        lambda r: write(r / "sub" / "deeper" / "empty", b""),
        lambda r: (r / "sub" / "new-empty-dir").mkdir(),
        lambda r: write(r / "sub" / "deeper" / "c.bin", b"\x00\x02", mtime=OLD + 60),
        lambda r: (r / "sub" / "deeper" / "c.bin").unlink(),
    ],
    ids=["rename", "move", "add-empty-file", "add-empty-dir", "edit-nested", "delete"],
)
def test_any_change_in_a_tree_changes_its_id(tmp_path: pathlib.Path, change: Any) -> None:
    root = make_tree(tmp_path / "tree")
    before = h(root)
    change(root)
    assert h(root) != before


def test_an_empty_file_and_an_empty_directory_differ(tmp_path: pathlib.Path) -> None:
    write(tmp_path / "one" / "x", b"")
    (tmp_path / "two" / "x").mkdir(parents=True)
    assert h(tmp_path / "one") != h(tmp_path / "two")


def test_an_unchanged_tree_is_walked_not_read(tmp_path: pathlib.Path, reads: list[str]) -> None:
    root = make_tree(tmp_path / "tree")
    first = h(root)
    assert len(reads) == 3
    files._memory.clear()
    assert h(root) == first
    write(root / "sub" / "b.txt", "BETA", mtime=OLD + 60)
    assert h(root) != first
    assert len(reads) == 4  # only the edited file was read again


def test_symbolic_links_are_followed(tmp_path: pathlib.Path) -> None:
    copy = make_tree(tmp_path / "copy")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "a.txt").symlink_to(copy / "a.txt")
    (linked / "sub").symlink_to(copy / "sub", target_is_directory=True)
    assert h(linked) == h(copy)
    assert h(linked / "a.txt") == h(copy / "a.txt")


def test_a_symbolic_link_loop_raises(tmp_path: pathlib.Path) -> None:
    root = make_tree(tmp_path / "tree")
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)
    with pytest.raises(HashingError, match="symbolic link loop.*up'"):
        h(root)
    (tmp_path / "self").symlink_to(tmp_path / "self")
    with pytest.raises(HashingError, match="symbolic links.*self'"):
        h(tmp_path / "self")


def test_a_dangling_link_in_a_tree_raises(tmp_path: pathlib.Path) -> None:
    root = make_tree(tmp_path / "tree")
    (root / "gone").symlink_to(root / "nowhere")
    with pytest.raises(HashingError, match="dangling symbolic link: '.*gone'"):
        h(root)


# --- errors ------------------------------------------------------------------------------


def test_a_missing_path_raises_naming_it() -> None:
    with pytest.raises(HashingError) as info:
        hash_value(File("data/iris.csv"))
    assert str(info.value) == (
        "cannot hash value of type provenance.File: no such file or directory: 'data/iris.csv'"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_raises_instead_of_blocking(tmp_path: pathlib.Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(HashingError, match="neither a regular file nor a directory: '.*pipe'"):
        h(tmp_path / "pipe")


# --- through the decorator ---------------------------------------------------------------


@pytest.fixture
def mem_repo() -> Iterator[Any]:
    with p.using_repo(p.memory_repo()) as repo:
        yield repo


def test_a_decorated_function_sees_the_new_contents(tmp_path: pathlib.Path, mem_repo: Any) -> None:
    runs: list[str] = []

    @p.provenance(version=1)
    def count_lines(path: Any) -> int:
        runs.append(os.fspath(path))
        with open(path) as f:
            return f.read().count("\n")

    data = write(tmp_path / "iris.csv", "a\nb\nc\n")
    assert count_lines(File(str(data))) == 3
    assert count_lines(File(str(data))) == 3
    assert len(runs) == 1
    write(data, "a\n", mtime=None)
    assert count_lines(File(str(data))) == 1
    assert len(runs) == 2
    same = write(tmp_path / "copy.csv", "a\n")
    assert count_lines(File(str(same))) == 1  # same contents elsewhere: a cache hit
    assert len(runs) == 2


def test_a_missing_file_fails_before_the_function_runs(mem_repo: Any) -> None:
    runs: list[int] = []

    @p.provenance(version=1)
    def load(path: Any) -> int:
        runs.append(1)
        return 0

    with pytest.raises(HashingError, match="'path'.*no such file or directory: 'data/iris.csv'"):
        load(File("data/iris.csv"))
    assert runs == []


# --- the state table ---------------------------------------------------------------------


def test_an_unusable_state_location_falls_back_to_memory(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    blocker = write(tmp_path / "a-file", "not a directory")
    monkeypatch.setenv("PROVENANCE_HOME", str(blocker / "home"))
    f = write(tmp_path / "data", "contents")
    first = h(f)
    assert h(f) == first == h(tmp_path / "data")
    assert len(reads) == 1  # still remembered in memory
    assert isinstance(files._state(), files._NullState)
    assert not isinstance(files._state(), files._SqliteState)


def test_a_locked_state_table_does_not_fail_the_call(
    tmp_path: pathlib.Path, reads: list[str]
) -> None:
    f = write(tmp_path / "data", "contents")
    expected = h(f)
    files._memory.clear()
    db = os.path.join(os.environ["PROVENANCE_HOME"], "state", "files.db")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # nobody else can read or write meanwhile
    try:
        other = write(tmp_path / "other", "more")
        start = time.monotonic()
        assert h(other) == h(tmp_path / "other")
        assert h(f) == expected
        assert time.monotonic() - start < 5 * files._BUSY_TIMEOUT + 2
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # The write was skipped, not queued: the digest of "other" lives in memory only.
    assert [row[0] for row in db_rows(os.environ["PROVENANCE_HOME"])] == [os.fsencode(f.resolve())]


def test_threads_share_the_state_table(tmp_path: pathlib.Path) -> None:
    paths = [write(tmp_path / f"f{i}", f"data {i % 5}") for i in range(40)]
    expected = [h(path) for path in paths]
    files._memory.clear()
    files._states.clear()
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            results[n] = [h(path) for path in paths]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(r == expected for r in results.values())
    assert len(set(expected)) == 5


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_opens_its_own_state_table(tmp_path: pathlib.Path, reads: list[str]) -> None:
    f = write(tmp_path / "data", "contents")
    expected = h(f)
    files._memory.clear()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its id and how many files it read, then leave
        try:
            os.write(w, json.dumps([h(f), len(reads)]).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as out:
        reported = json.loads(out.read())
    os.waitpid(pid, 0)
    assert reported == [expected, 1]  # the one read is the parent's, before the fork


def test_a_subclass_hashes_by_contents_too(tmp_path: pathlib.Path) -> None:
    class Data(File):
        pass

    f = write(tmp_path / "f", "x")
    assert hash_value(Data(f)) == h(f)
    with pytest.raises(HashingError, match="test_files.*Data: no such file"):
        hash_value(Data("missing"))
