"""The web view's pages of artifact sets: the saved sets, one set's members, set algebra.

Read through the index's ``find_sets`` and :func:`~provenance.load_set_by_id`;
union, intersection and difference are :class:`~provenance.ArtifactSet`'s
own, computed here and never saved (the view is read-only).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidValue
from ..storage.ids import check_id
from ..storage.prefixes import readable_members
from ..verbs.sets import load_set_by_id
from . import views

__all__ = ["OPERATIONS", "set_page", "sets_page"]

#: The set algebra the page offers, by the name in its URL.
OPERATIONS = {
    "union": lambda a, b: a | b,
    "intersection": lambda a, b: a & b,
    "difference": lambda a, b: a - b,
}
#: Sets listed, newest first.
SETS_SHOWN = 200


def _saved(repo: Any) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for member in readable_members(repo):
        for row in member.index.find_sets(limit=SETS_SHOWN):
            rows.setdefault(row["id"], row)
    return sorted(rows.values(), key=lambda r: (r["created_at"], r["id"]), reverse=True)


async def sets_page(request: Any) -> Any:
    """The saved sets, and the result of an operation on two of them when asked."""
    repo = request.app.state.repo
    saved = _saved(repo)
    op = request.query_params.get("op", "")
    result = None
    if op:
        if op not in OPERATIONS:
            raise InvalidValue(
                f"the op parameter must be one of {', '.join(OPERATIONS)}, got {op!r}"
            )
        left = load_set_by_id(check_id(request.query_params.get("a", ""), "set id"), repo=repo)
        right = load_set_by_id(check_id(request.query_params.get("b", ""), "set id"), repo=repo)
        result = (left, right, _rows(repo, OPERATIONS[op](left, right)))
    chosen = {k: request.query_params.get(k, "") for k in ("a", "b")}
    return views.render(request, "sets.html", saved=saved, op=op, result=result, **chosen)


def _rows(repo: Any, found: Any) -> list[Any]:
    artifacts = repo.get_artifacts(list(found.artifact_ids))
    return sorted(artifacts.values(), key=lambda a: (a.computed_at, a.id), reverse=True)


async def set_page(request: Any) -> Any:
    """One set: its labels and members."""
    repo = request.app.state.repo
    found = load_set_by_id(check_id(request.path_params["set_id"], "set id"), repo=repo)
    rows = _rows(repo, found)
    missing = sorted(set(found.artifact_ids) - {a.id for a in rows})
    return views.render(request, "set.html", s=found, rows=rows, missing=missing)
