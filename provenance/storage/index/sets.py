"""The set queries of the index: named, content-addressed sets of artifacts.

:class:`_Sets` stores a set row with its members in one transaction (a
get-or-create insert, like artifacts), and reads, finds and removes sets.
Removing a set leaves its artifacts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select

from ..models import artifact_set_members, artifact_sets
from ..validate import check_text
from .engine import _Connections, _insert_new
from .rows import _members, _sets, _storable, decode_datetime


class _Sets(_Connections):
    """Reads and writes of artifact sets and their members."""

    def _prepare_sets(self) -> None:
        """Build the set statements run with parameters, once per index."""
        self._insert_set = self._insert_ignore(_sets)

    def put_set(self, row: Mapping[str, Any], member_ids: Sequence[str]) -> bool:
        """Store a set and its members in one transaction; whether it was new."""
        if isinstance(row.get("name"), str):
            check_text(row["name"], "the set name", empty=True)
        row = _storable(self.engine.dialect.name, row, ("created_at",))
        with self._begin() as conn:
            if not _insert_new(conn, _sets, self._insert_set, row):
                return False
            members = [{"set_id": row["id"], "artifact_id": a} for a in member_ids]
            for start in range(0, len(members), 10_000):
                conn.execute(insert(_members), members[start : start + 10_000])
        return True

    def get_set(self, set_id: str) -> dict[str, Any] | None:
        """The stored row of a set, or ``None``."""
        with self._connect() as conn:
            stmt = select(*_sets.columns).where(artifact_sets.c.id == set_id)
            found = conn.execute(stmt).mappings().first()
        return _set_row(found)

    def set_members(self, set_id: str) -> list[str]:
        """The member artifact ids of a set, in one query."""
        stmt = select(artifact_set_members.c.artifact_id).where(
            artifact_set_members.c.set_id == set_id
        )
        with self._connect() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def find_sets(
        self,
        *,
        name: str | None = None,
        labels_hash: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Set rows matching the criteria, newest first."""
        if name is not None:
            check_text(name, "the set name looked up", empty=True)
        stmt = select(*_sets.columns)
        if name is not None:
            stmt = stmt.where(artifact_sets.c.name == name)
        if labels_hash is not None:
            stmt = stmt.where(artifact_sets.c.labels_hash == labels_hash)
        stmt = stmt.order_by(artifact_sets.c.created_at.desc(), artifact_sets.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._connect() as conn:
            return [_set_row(r) for r in conn.execute(stmt).mappings()]  # type: ignore[misc]

    def delete_set(self, set_id: str) -> bool:
        """Remove a set (its artifacts stay)."""
        with self._begin() as conn:
            conn.execute(
                delete(artifact_set_members).where(artifact_set_members.c.set_id == set_id)
            )
            return (
                conn.execute(delete(artifact_sets).where(artifact_sets.c.id == set_id)).rowcount > 0
            )

    def set_ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Set ids starting with ``prefix`` (at most ``limit``), for git-style short ids."""
        stmt = select(artifact_sets.c.id).where(artifact_sets.c.id.startswith(prefix)).limit(limit)
        with self._connect() as conn:
            return [r[0] for r in conn.execute(stmt)]


def _set_row(found: Any) -> dict[str, Any] | None:
    if found is None:
        return None
    out = dict(found)
    out["created_at"] = decode_datetime(out["created_at"])
    return out
