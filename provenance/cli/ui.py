"""``provenance ui``: serve the web view of the configured repository (:mod:`provenance.ui`)."""

from __future__ import annotations

import argparse
import contextlib

from .. import ui
from ..flows import client
from .common import UsageError, current_repo

__all__ = ["cmd_ui"]


def cmd_ui(args: argparse.Namespace) -> int:
    """Serve until interrupted; a port out of range is a usage error."""
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {args.port}")
    # A view of a shared repository shows every namespace unless asked for one
    # (this process is the server's own: the switch touches nothing else).
    client.namespace(args.namespace)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops it
        ui.serve(current_repo(), port=args.port, open_browser=args.open_browser)
    return 0
