"""The lineage queries of the index: the edges from artifacts to their inputs.

:class:`_Lineage` reads the edges of one artifact or of many, and walks them
upstream (ancestors) or downstream (descendants) in one recursive SQL query.
The edges themselves are written with their artifact
(:meth:`~provenance.storage.index.artifacts._Artifacts.put`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import literal, select

from ..models import artifact_lineage
from .engine import _Connections
from .rows import _edges


class _Lineage(_Connections):
    """Reads and walks of the lineage edges."""

    def lineage_edges(self, artifact_id: str) -> list[tuple[str, str]]:
        """``(input_artifact_id, parameter)`` edges of one artifact."""
        stmt = (
            select(artifact_lineage.c.input_artifact_id, artifact_lineage.c.parameter)
            .where(artifact_lineage.c.artifact_id == artifact_id)
            .order_by(artifact_lineage.c.parameter)
        )
        with self._connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(stmt)]

    def related(
        self, artifact_ids: Iterable[str], direction: str = "upstream", depth: int | None = None
    ) -> list[str]:
        """Ancestors (``upstream``) or descendants (``downstream``), the given ones first.

        One recursive SQL query over the lineage edges.  ``depth`` bounds how
        many edges away to go.
        """
        start = list(dict.fromkeys(artifact_ids))
        if not start or depth == 0:
            return start
        edges = _edges
        if direction == "upstream":
            near, far = edges.c.artifact_id, edges.c.input_artifact_id
        elif direction == "downstream":
            near, far = edges.c.input_artifact_id, edges.c.artifact_id
        else:
            raise ValueError(f"direction must be 'upstream' or 'downstream', got {direction!r}")
        if depth is None:
            # Ids alone: UNION keeps each artifact once however many paths
            # lead to it, so a wide DAG costs no more than a chain.
            seed = select(far.label("id")).where(near.in_(start))
            walk = seed.cte("walk", recursive=True)
            walk = walk.union(select(far).join(walk, near == walk.c.id))
            stmt = select(walk.c.id)
        else:
            # With a bound the distance must be carried; it is at most
            # ``depth`` rows per artifact.
            seed = select(far.label("id"), literal(1).label("dist")).where(near.in_(start))
            walk = seed.cte("walk", recursive=True)
            step = select(far, walk.c.dist + 1).join(walk, near == walk.c.id)
            walk = walk.union(step.where(walk.c.dist < depth))
            stmt = select(walk.c.id).distinct()
        found = dict.fromkeys(start)
        with self._connect() as conn:
            for (artifact_id,) in conn.execute(stmt):
                found.setdefault(artifact_id)
        return list(found)

    def edges_among(self, artifact_ids: Iterable[str]) -> list[tuple[str, str, str]]:
        """``(artifact_id, input_artifact_id, parameter)`` edges whose artifact is given."""
        ids = list(dict.fromkeys(artifact_ids))
        edges: list[tuple[str, str, str]] = []
        stmt_base = select(
            artifact_lineage.c.artifact_id,
            artifact_lineage.c.input_artifact_id,
            artifact_lineage.c.parameter,
        )
        with self._connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                stmt = stmt_base.where(artifact_lineage.c.artifact_id.in_(chunk))
                edges.extend((r[0], r[1], r[2]) for r in conn.execute(stmt))
        return sorted(edges)
