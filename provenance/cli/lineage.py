"""Commands about where artifacts come from: ``lineage`` (draw it) and ``diff`` (why two differ).

``diff`` compares what identifies two artifacts (name, version, code,
arguments), as :meth:`~provenance.ProvenanceFunction.why` does for a call.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..verbs.vis import visualize_lineage
from .common import (
    Command,
    UsageError,
    current_repo,
    id_argument,
    parse_count,
    resolve_artifact_id,
    short_id,
)

__all__ = ["COMMANDS", "cmd_diff", "cmd_lineage"]


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first", metavar="ID1", help="an artifact id, or a unique prefix of one")
    parser.add_argument("second", metavar="ID2", help="another artifact id or prefix")


def cmd_diff(args: argparse.Namespace) -> int:
    """Print how two artifacts' identities differ (name, version, code, arguments)."""
    # Imported here so that `provenance --help` need not load the explanations
    # (today `import provenance` loads provenance.why anyway; kept lazy for when not).
    from ..why import compare_artifacts

    repo = current_repo()
    first = repo.get_artifact(resolve_artifact_id(args.first, repo))
    second = repo.get_artifact(resolve_artifact_id(args.second, repo))
    print(compare_artifacts(first, second))
    return 0


_FORMATS = ("svg", "png", "dot")


def _lineage_arguments(parser: argparse.ArgumentParser) -> None:
    id_argument(parser)
    parser.add_argument(
        "--format",
        choices=_FORMATS,
        help="the drawing's format (default: from the extension of -o, else svg)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="where to write the drawing (default: stdout)"
    )
    parser.add_argument(
        "--depth",
        type=parse_count,
        metavar="N",
        help="draw at most N calls upstream (default: all)",
    )
    parser.add_argument(
        "--no-literals",
        dest="literals",
        action="store_false",
        help="leave out inputs that are not artifacts (numbers, strings, ...)",
    )


def cmd_lineage(args: argparse.Namespace) -> int:
    """Draw an artifact's upstream lineage into a file or stdout."""
    fmt = args.format
    if fmt is None:
        ext = os.path.splitext(args.output or "")[1].lstrip(".").lower()
        fmt = ext if ext in _FORMATS else "svg"
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


#: The commands of this module, in the order ``provenance --help`` lists them.
COMMANDS: list[Command] = [
    Command("diff", "show how two artifacts' identities differ", cmd_diff, _diff_arguments,
            "Compare what identifies two artifacts: name, version, code (with a diff of the "
            "stored source), each argument, the id scheme.  IDs may be unique prefixes."),
    Command("lineage", "draw an artifact's lineage with graphviz", cmd_lineage,
            _lineage_arguments,
            "Draw the upstream lineage of an artifact (needs the 'vis' extra and graphviz's "
            "`dot` program).  ID may be a unique prefix."),
]  # fmt: skip
