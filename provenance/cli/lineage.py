"""Commands about where artifacts come from: ``lineage`` (draw it) and ``diff`` (why two differ).

``diff`` compares what identifies two artifacts (name, version, code,
arguments), as :meth:`~provenance.ProvenanceFunction.why` does for a call.
"""

from __future__ import annotations

import argparse
import os
import sys

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


def cmd_lineage(args: argparse.Namespace) -> int:
    """Draw an artifact's upstream lineage into a file or stdout."""
    fmt = args.format
    if fmt is None:
        ext = os.path.splitext(args.output or "")[1].lstrip(".").lower()
        fmt = ext if ext in LINEAGE_FORMATS else "svg"
    if fmt == "png" and args.output in (None, "-") and sys.stdout.isatty():
        raise UsageError("will not write a PNG to a terminal; give -o FILE")
    repo = current_repo()
    artifact = repo.get_artifact(resolve_artifact_id(args.id, repo))
    drawing = visualize_lineage(artifact, depth=args.depth, show_literals=args.literals)
    # Not at the top: graphviz is the optional 'vis' extra, and slow to import.
    import graphviz  # importable: visualize_lineage needed it

    try:
        data = drawing.source.encode() if fmt == "dot" else drawing.pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise UsageError(
            "drawing needs graphviz's `dot` program on the PATH "
            "(apt-get install graphviz, brew install graphviz, ...)"
        ) from exc
    if args.output in (None, "-"):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(args.output, "wb") as f:
            f.write(data)
        print(f"wrote the lineage of {short_id(artifact.id)} to {args.output}", file=sys.stderr)
    return 0
