"""A run's tags in the index: reading them, and changing them in one transaction.

The tags are validated by :mod:`provenance.recording`, which writes them when
a run starts; changing them afterwards (:meth:`Run.replace_tags
<provenance.client.Run.replace_tags>`) is the one write the client makes.
Selecting runs by tag is in :mod:`provenance.storage.run_queries`.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from ...errors import MetaflowTaggingError
from ...storage import run_queries as q
from ...storage.index import SqlIndex


def _read_tags(index: SqlIndex, run_id: int) -> tuple[frozenset[str], frozenset[str]]:
    # (user tags, system tags) of one run.
    stmt = select(q.tags_t.c.tag, q.tags_t.c.system).where(q.tags_t.c.run_id == run_id)
    with index._connect() as conn:
        rows = conn.execute(stmt).all()
    return (
        frozenset(t for t, system in rows if not system),
        frozenset(t for t, system in rows if system),
    )


def _replace_tags(
    index: SqlIndex, run_id: int, pathspec: str | None, remove: list[str], add: list[str]
) -> None:
    # Removals first, then additions, in one transaction; a system tag to
    # remove refuses the whole change.
    with index._begin() as conn:
        system = {
            r[0]
            for r in conn.execute(
                select(q.tags_t.c.tag).where(
                    q.tags_t.c.run_id == run_id, q.tags_t.c.system.is_(True)
                )
            )
        }
        refused = sorted(t for t in remove if t in system)
        if refused:
            raise MetaflowTaggingError(f"cannot remove system tag(s) {refused} of run {pathspec}")
        if remove:
            conn.execute(
                delete(q.tags_t).where(
                    q.tags_t.c.run_id == run_id,
                    q.tags_t.c.system.is_(False),
                    q.tags_t.c.tag.in_(remove),
                )
            )
        current = {
            r[0] for r in conn.execute(select(q.tags_t.c.tag).where(q.tags_t.c.run_id == run_id))
        }
        new = [t for t in add if t not in current]
        if new:
            conn.execute(
                insert(q.tags_t), [{"run_id": run_id, "tag": t, "system": False} for t in new]
            )
