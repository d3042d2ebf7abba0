"""Commands about where artifacts come from: ``lineage`` (a tree, or drawn) and ``diff``.

``diff`` compares what identifies two artifacts (name, version, code,
arguments), as :meth:`~provenance.ProvenanceFunction.why` does for a call.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..verbs.tree import lineage_tree
from ..verbs.vis import visualize_lineage
from ..why import compare_artifacts
from .common import (
    UsageError,
    current_repo,
    resolve_artifact_id,
    short_id,
)
from .parser import LINEAGE_FORMATS

__all__ = ["cmd_diff", "cmd_lineage"]


def cmd_diff(args: argparse.Namespace) -> int:
    """Print how two artifacts' identities differ (name, version, code, arguments)."""
    repo = current_repo()
    first = repo.get_artifact(resolve_artifact_id(args.first, repo))
    second = repo.get_artifact(resolve_artifact_id(args.second, repo))
    print(compare_artifacts(first, second))
    return 0


def _format(args: argparse.Namespace) -> str:
    """The ``--format`` given, else the one of ``-o``'s extension, else text (svg for a file)."""
    if args.format is not None:
        return str(args.format)
    if args.output in (None, "-"):
        return "text"
    ext = os.path.splitext(args.output)[1].lstrip(".").lower()
    if ext == "txt":
        return "text"
    return ext if ext in LINEAGE_FORMATS else "svg"


def cmd_lineage(args: argparse.Namespace) -> int:
    """Print an artifact's upstream lineage as a tree, or draw it, into a file or stdout."""
    fmt = _format(args)
    if fmt == "png" and args.output in (None, "-") and sys.stdout.isatty():
        raise UsageError("will not write a PNG to a terminal; give -o FILE")
    repo = current_repo()
    artifact = repo.get_artifact(resolve_artifact_id(args.id, repo))
    if fmt == "text":
        data = (
            lineage_tree(artifact, depth=args.depth, show_literals=args.literals) + "\n"
        ).encode()
    else:
        data = _drawing(artifact, fmt, args)
    if args.output in (None, "-"):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(args.output, "wb") as f:
            f.write(data)
        what = "lineage" if fmt == "text" else "drawn lineage"
        print(f"wrote the {what} of {short_id(artifact.id)} to {args.output}", file=sys.stderr)
    return 0


def _drawing(artifact: Any, fmt: str, args: argparse.Namespace) -> bytes:
    drawing = visualize_lineage(artifact, depth=args.depth, show_literals=args.literals)
    # Not at the top: graphviz is the optional 'vis' extra, and slow to import.
    import graphviz  # importable: visualize_lineage needed it

    try:
        return drawing.source.encode() if fmt == "dot" else bytes(drawing.pipe(format=fmt))
    except graphviz.ExecutableNotFound as exc:
        raise UsageError(
            "drawing needs graphviz's `dot` program on the PATH "
            "(apt-get install graphviz, brew install graphviz, ...)"
        ) from exc
