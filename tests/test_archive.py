"""Archiving files: identity by contents, path-like values, deletion after storing."""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest

import provenance as p


def read_text(path: Any) -> str:
    with open(path) as f:
        return f.read()


def test_archive_file_roundtrip(repo: Any, tmp_path: Any) -> None:
    src = tmp_path / "data.csv"
    src.write_bytes(b"a,b\n1,2\n")
    archived = p.archive_file(src)
    assert archived.artifact.name == "archive_file"
    with open(archived, "rb") as f:
        assert f.read() == b"a,b\n1,2\n"
    assert os.path.exists(os.fspath(archived))
    assert os.fspath(archived) != str(src)
    assert src.exists()
    again = p.load_proxy(archived.artifact.id)
    with open(again) as f:
        assert f.read() == "a,b\n1,2\n"


def test_two_different_files_with_the_same_name_are_two_artifacts(repo: Any, tmp_path: Any) -> None:
    src = tmp_path / "report.txt"
    src.write_text("first version")
    first = p.archive_file(src, delete_original=True)
    assert not src.exists()
    src.write_text("second version")
    second = p.archive_file(src, delete_original=True)
    assert first.artifact.id != second.artifact.id
    assert not src.exists()
    assert read_text(first) == "first version"
    assert read_text(second) == "second version"


def test_same_bytes_are_one_artifact(repo: Any, tmp_path: Any) -> None:
    (tmp_path / "a.bin").write_bytes(b"same")
    (tmp_path / "b.bin").write_bytes(b"same")
    assert p.archive_file(tmp_path / "a.bin").artifact.id == (
        p.archive_file(tmp_path / "b.bin").artifact.id
    )


def test_preserve_ext(disk_repo: Any, tmp_path: Any) -> None:
    src = tmp_path / "picture.png"
    src.write_bytes(b"\x89PNG fake")
    archived = p.archive_file(src, preserve_ext=True, name="picture")
    assert archived.artifact.blob_id.endswith(".png")
    assert os.fspath(archived).endswith(".png")
    assert archived.artifact.name == "picture"


def test_preserved_extension_is_in_the_value_id_normalized(repo: Any, tmp_path: Any) -> None:
    """Issue 14, gap 9: the original's value id is the content hash plus the extension."""
    movie = tmp_path / "clip.MPEG"
    movie.write_bytes(b"frames")
    content = p.hashing.hash_file(movie)
    archived = p.archive_file(movie, preserve_ext=True)
    assert archived.artifact.value_id == content + ".mpg"
    assert archived.artifact.blob_id == content + ".mpg"
    assert archived.extension == ".mpg" and archived.content_hash == content
    assert archived.abspath() == os.path.abspath(os.fspath(archived)) and archived.in_repo
    assert os.fspath(archived).endswith(".mpg")
    # .JPEG, .jpeg and .jpg are one extension, so one artifact.
    for name in ("a.JPEG", "b.jpeg", "c.jpg"):
        (tmp_path / name).write_bytes(b"pixels")
    ids = {
        p.archive_file(tmp_path / n, preserve_ext=True).artifact.id
        for n in ("a.JPEG", "b.jpeg", "c.jpg")
    }
    assert len(ids) == 1
    # Without preserve_ext the value id is the content hash alone, and the
    # artifact differs from the one that kept the extension.
    plain = p.archive_file(tmp_path / "c.jpg")
    assert plain.artifact.value_id == p.hashing.hash_file(tmp_path / "c.jpg")
    assert plain.artifact.id not in ids
    # Passed on, the extension counts: a function may look at the path.
    assert p.hash_value(plain) != p.hash_value(p.load_proxy(ids.pop()))


def test_decorator_preserve_file_ext_value_id(repo: Any, tmp_path: Any) -> None:
    @p.provenance(archive_file=True, preserve_file_ext=True)
    def render(text: str) -> str:
        out = tmp_path / "out.TXT"
        out.write_text(text)
        return str(out)

    archived = render("hello")
    assert archived.artifact.value_id == p.hashing.hash_file(archived) + ".txt"
    assert p.load_proxy(archived.artifact.id).read_bytes() == b"hello"


def test_decorator_archive_file(repo: Any, tmp_path: Any) -> None:
    runs = []

    @p.provenance(archive_file=True, delete_original_file=True, preserve_file_ext=True)
    def render(n: int) -> str:
        runs.append(n)
        out = tmp_path / f"render-{n}.txt"
        out.write_text("x" * n)
        return str(out)

    first = render(5)
    assert not (tmp_path / "render-5.txt").exists()
    assert read_text(first) == "xxxxx"
    assert os.fspath(first).endswith(".txt")
    again = render(5)
    assert runs == [5]
    assert read_text(again) == "xxxxx"
    assert first.artifact.serializer == "file"


def test_archive_file_must_return_an_existing_file(repo: Any, tmp_path: Any) -> None:
    @p.provenance(archive_file=True)
    def nothing() -> str:
        return str(tmp_path / "missing.txt")

    with pytest.raises(FileNotFoundError, match="missing.txt"):
        nothing()
    with pytest.raises(FileNotFoundError):
        p.archive_file(tmp_path / "nope")


def test_large_file_is_streamed(disk_repo: Any, tmp_path: Any) -> None:
    src = tmp_path / "large.bin"
    block = os.urandom(1 << 20)
    with open(src, "wb") as f:
        for _ in range(20):
            f.write(block)
    archived = p.archive_file(src)
    assert os.path.getsize(archived) == 20 << 20
    assert archived.artifact.size == 20 << 20


def test_memory_store_materializes_a_local_copy(tmp_path: Any) -> None:
    p.load_config({"artifact_repos": {"m": {"type": "memory"}}, "default_repo": "m"})
    src = tmp_path / "notes.md"
    src.write_text("# notes")
    archived = p.archive_file(src, preserve_ext=True)
    path = os.fspath(archived)
    assert path.endswith(".md")
    assert read_text(path) == "# notes"
    assert archived.read_bytes() == b"# notes"


def test_archived_file_as_input_records_lineage(repo: Any, tmp_path: Any) -> None:
    src = tmp_path / "in.txt"
    src.write_text("hello")

    @p.provenance()
    def count(path: Any) -> int:
        with open(path) as f:
            return len(f.read())

    archived = p.archive_file(src)
    n = count(archived)
    assert n == 5
    assert n.artifact.input_artifact_ids == [archived.artifact.id]


def test_archive_into_a_chained_repo(tmp_path: Any) -> None:
    from conftest import sqlite_config

    cfg = sqlite_config(str(tmp_path / "a"))
    cfg["blobstores"]["b_disk"] = {"type": "disk", "cachedir": str(tmp_path / "b" / "blobs")}
    cfg["artifact_repos"]["b"] = {
        "type": "sql", "db": f"sqlite:///{tmp_path / 'b' / 'i.db'}", "store": "b_disk",
    }  # fmt: skip
    cfg["artifact_repos"]["both"] = {"type": "chained", "repos": ["local", "b"]}
    cfg["default_repo"] = "both"
    p.load_config(cfg)
    src = tmp_path / "f.txt"
    src.write_text("chained")
    archived = p.archive_file(src)
    assert read_text(archived) == "chained"
    for name in ("local", "b"):
        with p.using_repo(name):
            assert p.verify().ok
            assert read_text(p.load_proxy(archived.artifact.id)) == "chained"


def test_archiving_a_path_does_not_warn_about_path_arguments(repo: Any, tmp_path: Any) -> None:
    # archive_file identifies the file by its contents and ignores the path
    # it was given: the warning about str paths is for parameters in the id.
    src = tmp_path / "in.txt"
    src.write_text("hello")
    with warnings.catch_warnings():
        warnings.simplefilter("error", p.PathArgumentWarning)
        archived = p.archive_file(str(src))
    assert archived.read_bytes() == b"hello"

    @p.provenance()
    def read(path: str) -> str:
        return open(path).read()

    with pytest.warns(p.PathArgumentWarning, match="argument 'path'"):
        read(str(src))
