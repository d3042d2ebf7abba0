"""A value shown small on its artifact's page, within the repository's trust.

The value is loaded through :attr:`Artifact.value`, which refuses a pickle
from a repository that is not trusted
(:class:`~provenance.UntrustedValue`): the page then says so instead of
showing it.  A value larger than :data:`MAX_PREVIEW_BYTES` is not loaded.
What is shown is text, an HTML table that pandas escapes, or a PNG, JPEG or
GIF picture (recognized by its first bytes) inlined as a ``data:`` URI, never
markup taken from the value.
"""

from __future__ import annotations

import base64
import json
import reprlib
from dataclasses import dataclass
from typing import Any

from ..errors import ProvenanceError, UntrustedValue

__all__ = ["MAX_IMAGE_BYTES", "MAX_PREVIEW_BYTES", "Preview", "preview"]

#: Values stored larger than this are described, not loaded.
MAX_PREVIEW_BYTES = 64 << 20
#: Rows of a table, items of an array.
ROWS = 10

_short = reprlib.Repr()
_short.maxstring = 200
_short.maxother = 200
_short.maxlist = _short.maxdict = _short.maxtuple = _short.maxset = 20


@dataclass(frozen=True)
class Preview:
    """What the page shows of a value: ``kind`` is table, array, json, text or note."""

    kind: str
    text: str = ""  # for "text", "json", "array" and "note"
    table_html: str = ""  # for "table": pandas' escaped HTML
    caption: str = ""
    image: str = ""  # for "image": a data: URI of the picture's own bytes


def _table(value: Any) -> Preview:
    frame = value.to_frame() if hasattr(value, "to_frame") and value.ndim == 1 else value
    rows, cols = frame.shape
    html = frame.head(ROWS).to_html(escape=True, border=0, classes="table", max_cols=20)
    caption = f"{type(value).__name__} {rows}×{cols}" + (
        f", the first {ROWS} rows" if rows > ROWS else ""
    )
    return Preview("table", table_html=html, caption=caption)


def _array(value: Any) -> Preview:
    flat = value.ravel()[:ROWS].tolist()
    more = ", ..." if value.size > ROWS else ""
    return Preview(
        "array",
        text="[" + ", ".join(map(repr, flat)) + more + "]",
        caption=f"ndarray {value.dtype} {tuple(value.shape)}",
    )


#: Pictures shown inline, by their first bytes: never by a name or a claim.
_PICTURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
             (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))  # fmt: skip
#: Pictures larger than this are described, not inlined.
MAX_IMAGE_BYTES = 8 << 20


def _picture(data: bytes, caption: str) -> Preview | None:
    """An inline image of ``data`` when it is a PNG, JPEG or GIF (SVG, which can hold
    script, is never inlined)."""
    kind = next((media for magic, media in _PICTURES if data.startswith(magic)), None)
    if kind is None:
        return None
    if len(data) > MAX_IMAGE_BYTES:
        return Preview("note", text=f"a {kind} of {len(data)} bytes: too large to show")
    encoded = base64.b64encode(data).decode("ascii")
    return Preview("image", image=f"data:{kind};base64,{encoded}", caption=f"{caption}, {kind}")


def _archived(artifact: Any) -> Preview:
    value = artifact.value  # an ArchivedFile: its bytes are read as they are
    head = value.read_bytes() if (artifact.size or 0) <= MAX_IMAGE_BYTES else b""
    shown = _picture(head, "an archived file") if head else None
    return shown or Preview("note", text="an archived file: only pictures are shown here")


def preview(artifact: Any) -> Preview:
    """A small view of ``artifact``'s value, or a note saying why there is none."""
    size = artifact.size
    if size is not None and size > MAX_PREVIEW_BYTES:
        return Preview("note", text=f"{size} bytes: too large to preview")
    if artifact.serializer == "file":
        try:
            return _archived(artifact)
        except (ProvenanceError, OSError) as exc:
            return Preview("note", text=f"cannot be read here: {type(exc).__name__}: {exc}")
    try:
        value = artifact.value
    except UntrustedValue as exc:
        return Preview("note", text=f"not shown: {exc}")
    except (ProvenanceError, ImportError, OSError) as exc:
        return Preview("note", text=f"cannot be loaded here: {type(exc).__name__}: {exc}")
    if isinstance(value, bytes):
        picture = _picture(value, "bytes")
        if picture is not None:
            return picture
    module = type(value).__module__.split(".")[0]
    if module == "pandas" and hasattr(value, "head") and hasattr(value, "shape"):
        return _table(value)
    if module == "numpy" and hasattr(value, "ravel") and hasattr(value, "dtype"):
        return _array(value)
    if isinstance(value, (dict, list, str, int, float, bool)) or value is None:
        try:
            text = json.dumps(value, indent=2, default=None)[:20_000]
            return Preview("json", text=text, caption=type(value).__name__)
        except (TypeError, ValueError):
            pass
    return Preview("text", text=_short.repr(value), caption=type(value).__qualname__)
