"""The value preview of an artifact's page: tables, arrays, JSON, pictures, and the trust rules."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import provenance as p
from provenance.ui.preview import preview


def tiny_png() -> bytes:
    """A real 2×1 PNG (red, blue), built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"\x00" + bytes([255, 0, 0, 0, 0, 255])
    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))  # fmt: skip


def config(root: Path, trusted: bool = True) -> dict[str, Any]:
    return {
        "blobstores": {"disk": {"type": "disk", "cachedir": str(root / "blobs")}},
        "artifact_repos": {"local": {"type": "sql", "db": f"sqlite:///{root / 'index.db'}",
                                     "store": "disk", "trusted": trusted}},
        "default_repo": "local",
    }  # fmt: skip


@p.provenance()
def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": range(n), "label": ["<i>a</i>"] * n})


@p.provenance()
def array(n: int) -> np.ndarray:
    return np.arange(n, dtype="float64")


@p.provenance()
def picture_bytes() -> bytes:
    return tiny_png()


@p.provenance()
def thing(n: int) -> Any:
    return {n, n + 1}  # not JSON: its repr


def test_each_kind_of_value_is_shown_small(tmp_path: Path) -> None:
    p.load_config(config(tmp_path))
    table = preview(frame(25).artifact)
    assert table.kind == "table" and table.caption == "DataFrame 25×2, the first 10 rows"
    assert table.table_html.count("<tr>") == 10  # the rows (the header row is styled)
    assert "&lt;i&gt;a&lt;/i&gt;" in table.table_html and "<i>" not in table.table_html
    shown = preview(array(1000).artifact)
    assert shown.kind == "array" and shown.caption == "ndarray float64 (1000,)"
    assert shown.text == "[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, ...]"
    picture = preview(picture_bytes().artifact)
    assert picture.kind == "image" and picture.image.startswith("data:image/png;base64,iVBORw0KGgo")
    other = preview(thing(3).artifact)
    assert other.kind == "text" and other.text == "{3, 4}"


def test_an_archived_picture_is_shown_by_its_bytes(tmp_path: Path) -> None:
    p.load_config(config(tmp_path))
    (tmp_path / "plot.bin").write_bytes(tiny_png())  # no telling extension
    archived = p.archive_file(str(tmp_path / "plot.bin"), name="plot")
    assert preview(archived.artifact).kind == "image"
    (tmp_path / "notes.txt").write_text("<script>x</script>")
    text = preview(p.archive_file(str(tmp_path / "notes.txt"), name="notes").artifact)
    assert text.kind == "note" and "only pictures" in text.text


def test_an_untrusted_repository_never_unpickles_for_the_preview(tmp_path: Path) -> None:
    p.load_config(config(tmp_path))
    stored = thing(5).artifact.id  # a joblib pickle
    as_npy = array(3).artifact.id  # npy: no code runs to load it
    p.load_config(config(tmp_path, trusted=False))
    refused = preview(p.load_artifact(stored))
    assert refused.kind == "note" and "not shown" in refused.text and "not trusted" in refused.text
    assert preview(p.load_artifact(as_npy)).kind == "array"


@pytest.mark.parametrize("limit", [10])
def test_a_value_over_the_limit_is_not_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    from provenance.ui import preview as module

    p.load_config(config(tmp_path))
    artifact = array(100).artifact
    monkeypatch.setattr(module, "MAX_PREVIEW_BYTES", limit)
    loaded: list[Any] = []
    monkeypatch.setattr(type(artifact), "value", property(lambda a: loaded.append(a)))
    shown = preview(p.load_artifact(artifact.id))
    assert shown.kind == "note" and "too large" in shown.text and loaded == []
