"""Artifacts and proxies as the user holds them, and lazy dicts of them.

The record (:class:`Artifact`) and the value wrappers (:class:`ArtifactProxy`,
:class:`CompositeDict`, :class:`LazyDict`) are storage's nouns and live in
:mod:`provenance.storage.artifact` and :mod:`provenance.storage.proxies`;
they are re-exported here, at their long-standing path.  This module adds
what needs the configured default repo: :func:`lazy_proxy_dict`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from .config import resolve_repo
from .storage.artifact import Artifact, _detached_artifact  # noqa: F401  (see below)
from .storage.proxies import (  # noqa: F401  (see below)
    ArtifactProxy,
    CompositeDict,
    LazyDict,
    TransformedProxy,
    _proxy_of,
    is_proxy,
    lazy_dict,
    transform_value,
)

__all__ = [
    "Artifact",
    "ArtifactProxy",
    "CompositeDict",
    "LazyDict",
    "TransformedProxy",
    "is_proxy",
    "lazy_dict",
    "lazy_proxy_dict",
    "transform_value",
]

# Values pickled before the record and proxies moved to storage name
# ``provenance.artifact._proxy_of`` and ``_detached_artifact``: they stay
# reachable here, so that stored values which hold proxies still load.


def _artifact_of(item: Any) -> Artifact:
    if is_proxy(item):
        return item.artifact
    if isinstance(item, Artifact):
        return item
    return resolve_repo().get_artifact(item)


def _proxies(artifacts: list[Artifact]) -> list[Any]:
    return [a.proxy() for a in artifacts]


def lazy_proxy_dict(
    artifacts_or_ids: Iterable[Artifact | str | ArtifactProxy],
    group_artifacts_of_same_name: bool = False,
) -> LazyDict:
    """A dict from artifact name to proxy, each loaded on first access.

    Parameters
    ----------
    artifacts_or_ids : iterable or mapping of Artifact, ArtifactProxy or id
        An iterable is keyed by artifact name; a mapping keeps its own keys.
    group_artifacts_of_same_name : bool
        If true, a name shared by several artifacts maps to the list of
        their proxies (a unique name still maps to its proxy); otherwise two
        artifacts of the same name are an error.

    Raises
    ------
    ValueError
        If two artifacts share a name and grouping was not asked for.
    """
    if isinstance(artifacts_or_ids, Mapping):
        # The original's other form: keys chosen by the caller, any names.
        chosen = {k: _artifact_of(v) for k, v in artifacts_or_ids.items()}
        return LazyDict({k: a.proxy for k, a in chosen.items()})
    artifacts = [_artifact_of(item) for item in artifacts_or_ids]
    by_name: dict[str, list[Artifact]] = {}
    for a in artifacts:
        by_name.setdefault(a.name, []).append(a)
    if group_artifacts_of_same_name:
        # A name shared by several artifacts maps to a list; a unique one to its proxy.
        return LazyDict(
            {
                n: functools.partial(_proxies, group) if len(group) > 1 else group[0].proxy
                for n, group in by_name.items()
            }
        )
    dupes = sorted(n for n, group in by_name.items() if len(group) > 1)
    if dupes:
        raise ValueError(
            f"several artifacts are named {', '.join(map(repr, dupes))}; "
            "pass group_artifacts_of_same_name=True to get lists"
        )
    return LazyDict({n: group[0].proxy for n, group in by_name.items()})
