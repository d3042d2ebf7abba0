"""The explicit runs of a process: the stack that ``provenance.run`` pushes to.

The recorder reads it to know which run a call belongs to; it knows nothing
of flows (:mod:`provenance.flows.runs` pushes and pops).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .storage.runs import RunRef

__all__ = ["current_run", "pop_run", "push_run"]

_lock = threading.Lock()
#: Explicit runs, innermost last; process-wide so that threads started in a
#: run (a joblib thread pool, say) record into it ...
_active: list[RunRef] = []
#: ... unless the thread (or asyncio task) entered a run of its own.
_own_run: contextvars.ContextVar[RunRef | None] = contextvars.ContextVar(
    "provenance_run", default=None
)


def push_run(ref: RunRef) -> contextvars.Token[RunRef | None]:
    """Make ``ref`` the run of this context's calls (and the innermost active run)."""
    with _lock:
        _active.append(ref)
    return _own_run.set(ref)


def pop_run(ref: RunRef, token: contextvars.Token[RunRef | None]) -> None:
    """Undo :func:`push_run` (from any context: a foreign token is ignored)."""
    with contextlib.suppress(ValueError):  # exited in another context
        _own_run.reset(token)
    with _lock:
        if ref in _active:
            _active.remove(ref)


def current_run() -> str | None:
    """The pathspec of the innermost active explicit run, or ``None``."""
    with _lock:
        return _active[-1].pathspec if _active else None


def _after_fork_in_child() -> None:
    # Another thread may have held the lock at the fork.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
