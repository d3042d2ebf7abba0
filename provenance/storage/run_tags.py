"""Changing a run's user tags: the client view's one write (its reads are in run_queries)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, insert, select

from ..errors import MetaflowTaggingError
from .models import RunTag

__all__ = ["replace_tags"]

_run_tags: Table = RunTag.__table__


def replace_tags(
    index: Any, run_id: int, pathspec: str | None, remove: list[str], add: list[str]
) -> None:
    """Change a run's user tags: removals first, then additions, in one transaction.

    A system tag among those to remove refuses the whole change.
    """
    with index._begin() as conn:
        system = {
            r[0]
            for r in conn.execute(
                select(_run_tags.c.tag).where(
                    _run_tags.c.run_id == run_id, _run_tags.c.system.is_(True)
                )
            )
        }
        refused = sorted(t for t in remove if t in system)
        if refused:
            raise MetaflowTaggingError(f"cannot remove system tag(s) {refused} of run {pathspec}")
        if remove:
            conn.execute(
                delete(_run_tags).where(
                    _run_tags.c.run_id == run_id,
                    _run_tags.c.system.is_(False),
                    _run_tags.c.tag.in_(remove),
                )
            )
        current = {
            r[0] for r in conn.execute(select(_run_tags.c.tag).where(_run_tags.c.run_id == run_id))
        }
        new = [t for t in add if t not in current]
        if new:
            conn.execute(
                insert(_run_tags), [{"run_id": run_id, "tag": t, "system": False} for t in new]
            )
