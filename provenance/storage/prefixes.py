"""Finding the artifact or set whose id starts with a prefix, as git finds a short commit id.

One resolver serves the command line (``provenance show 3fa9``) and the
library (``p.load_proxy("3fa9c1e0")``): the prefix is checked to be hex
digits before anything is looked up, each readable member of a chained repo
is asked for the ids starting with it, and the one found is returned.  Only
the error paths cost more than one indexed query: an ambiguous prefix is
reported with its candidates' names (one batched lookup).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import AmbiguousId, ArtifactNotFound, SetNotFound
from .ids import MIN_PREFIX, check_id_prefix
from .trust import repo_label

__all__ = ["SHOWN_CANDIDATES", "readable_members", "resolve_artifact_id", "resolve_set_id"]

#: How many candidates of an ambiguous prefix a message lists.
SHOWN_CANDIDATES = 10
#: How many candidates are looked up at most: beyond, the message says "over".
_COUNTED = 100


def readable_members(repo: Any) -> list[Any]:
    """The plain repositories inside ``repo`` that may be read: itself, or a chain's members."""
    return [m for m in getattr(repo, "repos", [repo]) if getattr(m, "read", True)]


def _candidates(repo: Any, prefix: str, query: str) -> list[str]:
    found: dict[str, None] = {}
    for member in readable_members(repo):
        found.update(dict.fromkeys(getattr(member.index, query)(prefix, limit=_COUNTED + 1)))
    return list(found)


def _ambiguous(
    prefix: str, found: list[str], what: str, describe: Callable[[list[str]], list[str]]
) -> AmbiguousId:
    shown = describe(found[:SHOWN_CANDIDATES])
    if len(found) > _COUNTED:
        count, rest = f"over {_COUNTED} {what}s", ", ..."
    else:
        count = f"{len(found)} {what}s"
        extra = len(found) - len(shown)
        rest = f" and {extra} more" if extra else ""
    return AmbiguousId(
        f"{what} prefix {prefix!r} is ambiguous: it matches {count}: {', '.join(shown)}{rest}; "
        "give more digits",
        prefix=prefix,
        candidates=found,
    )


def resolve_artifact_id(repo: Any, text: str, min_length: int = MIN_PREFIX) -> str:
    """The full id of the one artifact of ``repo`` whose id is ``text`` or starts with it.

    Parameters
    ----------
    repo : Repository or ChainedRepository
        Where to look (every readable member of a chained repo).
    text : str
        An artifact id or a prefix of one, in lowercase hex digits.
    min_length : int
        The shortest prefix accepted (:data:`~provenance.storage.ids.MIN_PREFIX`
        for the library; the command line takes any).

    Raises
    ------
    InvalidId
        If ``text`` is not hex digits, or shorter than ``min_length``
        (checked before anything is read).
    ArtifactNotFound
        If no artifact id starts with it.
    AmbiguousId
        If several do; the message lists the first
        :data:`SHOWN_CANDIDATES` with their names, and how many more.
    """
    prefix = check_id_prefix(text, "artifact id", min_length)
    found = _candidates(repo, prefix, "ids_with_prefix")
    if prefix in found:
        return prefix  # a whole id, even if a longer one starts with it
    if not found:
        raise ArtifactNotFound(f"no artifact id starts with {prefix!r} in {repo_label(repo)}")
    if len(found) == 1:
        return found[0]

    def describe(ids: list[str]) -> list[str]:
        named = repo.get_artifacts(ids)
        return [f"{i} ({named[i].name})" if i in named else i for i in ids]

    raise _ambiguous(prefix, found, "artifact id", describe)


def resolve_set_id(repo: Any, text: str, min_length: int = MIN_PREFIX) -> str:
    """The full id of the one artifact set whose id is ``text`` or starts with it.

    As :func:`resolve_artifact_id`, for set ids; raises
    :class:`~provenance.SetNotFound` when none matches.
    """
    prefix = check_id_prefix(text, "set id", min_length)
    found = _candidates(repo, prefix, "set_ids_with_prefix")
    if prefix in found:
        return prefix
    if not found:
        raise SetNotFound(f"no artifact set id starts with {prefix!r} in {repo_label(repo)}")
    if len(found) == 1:
        return found[0]
    raise _ambiguous(prefix, found, "set id", list)
