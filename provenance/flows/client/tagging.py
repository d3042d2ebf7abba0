"""Changing a run's tags: Metaflow's ``add_tag(s)``, ``remove_tag(s)`` and ``replace_tag(s)``.

A mixin of :class:`~provenance.flows.client.objects.Run`.  Every change is
one call of :meth:`Tagging.replace_tags`, one transaction (removals first);
the singular forms still take a list, with a ``DeprecationWarning``, as
Metaflow's do.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from ... import recording as _runs
from ...errors import MetaflowTaggingError
from ...storage.runs import retrying
from ...storage.validate import check_tags

__all__ = ["Tagging"]


class Tagging:
    """The tag changes of a run (it has ``_index``, ``_row``, ``pathspec``, ``_tag_sets``)."""

    _index: Any
    _row: Any
    pathspec: str
    _tag_sets: Any

    def add_tag(self, tag: str) -> None:
        """Add a user tag (adding a system tag is a no-op).

        A list of tags is still accepted, with a ``DeprecationWarning``, as Metaflow does.
        """
        self.replace_tags([], _deprecated_list(tag, "add_tag", "add_tags"))

    def add_tags(self, tags: Iterable[str]) -> None:
        """Add user tags (system tags among them are skipped)."""
        self.replace_tags([], tags)

    def remove_tag(self, tag: str) -> None:
        """Remove a user tag; removing a system tag is an error, a missing tag a no-op.

        A list of tags is still accepted, with a ``DeprecationWarning``, as Metaflow does.
        """
        self.replace_tags(_deprecated_list(tag, "remove_tag", "remove_tags"), [])

    def remove_tags(self, tags: Iterable[str]) -> None:
        """Remove user tags (all or nothing: a system tag among them is an error)."""
        self.replace_tags(tags, [])

    def replace_tag(self, tag_to_remove: str, tag_to_add: str) -> None:
        """Remove one tag and add another in one step; the removal comes first.

        Lists of tags are still accepted, with a ``DeprecationWarning``, as Metaflow does.
        """
        self.replace_tags(
            _deprecated_list(tag_to_remove, "replace_tag", "replace_tags"),
            _deprecated_list(tag_to_add, "replace_tag", "replace_tags"),
        )

    def replace_tags(self, tags_to_remove: Iterable[str], tags_to_add: Iterable[str]) -> None:
        """Remove and add tags in one transaction; removals first.

        Raises
        ------
        MetaflowTaggingError
            A tag is not a non-empty string of at most 500 characters, or a
            system tag is to be removed; nothing changes then.
        """
        tags_to_remove = check_tags(tags_to_remove, "tags to remove", error=MetaflowTaggingError)
        tags_to_add = check_tags(tags_to_add, "tags to add", error=MetaflowTaggingError)
        remove = _runs.validate_tags(tags_to_remove, "tags to remove")
        add = _runs.validate_tags(tags_to_add, "tags to add")
        if not remove and not add:
            raise MetaflowTaggingError("Must add or remove at least one tag")
        # Two users adding the same tag at once: the loser tries again.
        retrying(
            f"changing the tags of {self.pathspec}",
            lambda: _replace_tags(self._index, self._row[0], self.pathspec, remove, add),
        )
        self._tag_sets = None


def _deprecated_list(tag: Any, old: str, new: str) -> list[Any]:
    """One tag as a list; a list of tags (Metaflow's deprecated form) with a warning."""
    if isinstance(tag, (list, tuple, set, frozenset)):
        warnings.warn(
            f"{old}() of a list of tags is deprecated, as in Metaflow: use {new}()",
            DeprecationWarning,
            stacklevel=3,
        )
        return list(tag)
    return [tag]


def _replace_tags(
    index: Any, run_id: int, pathspec: str | None, remove: list[str], add: list[str]
) -> None:
    # A write, through SQLAlchemy: imported when a tag is changed, not to read.
    from ...storage.run_tags import replace_tags

    replace_tags(index, run_id, pathspec, remove, add)
