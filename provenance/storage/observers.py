"""Observers of artifacts: how ``capture_set`` sees every artifact made or loaded."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

__all__ = ["artifact_observers", "notify"]

#: Called with every artifact computed or loaded in the current context
#: (thread or asyncio task); a tuple, replaced rather than mutated.
artifact_observers: contextvars.ContextVar[tuple[Callable[[Any], None], ...]] = (
    contextvars.ContextVar("provenance_observers", default=())
)


def notify(artifact: Any) -> None:
    """Tell the observers of this context about ``artifact``."""
    for observer in artifact_observers.get():
        observer(artifact)
