"""Artifact sets: named, labelled, immutable collections of artifact ids.

A set's id is the content hash of its members and labels, so saving the same
set twice stores it once.  Sets are kept in the index (``artifact_sets`` and
``artifact_set_members``); loading the members of a set is one query however
large it is.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from ..artifact import Artifact, LazyDict, is_proxy, lazy_proxy_dict
from ..config import resolve_repo
from ..display import capture_html, set_html
from ..errors import PermissionDenied, SetNotFound
from ..hashing import hash_value
from ..storage.ids import check_id
from ..storage.observers import artifact_observers
from ..storage.original_api import SET_VERBS
from ..storage.validate import check_json, check_text

__all__ = [
    "ArtifactSet",
    "capture_set",
    "create_set",
    "delete_set",
    "label_set",
    "load_set_by_id",
    "load_set_by_labels",
    "load_set_by_name",
    "provenance_set",
]


def _normalize_labels(labels: Any) -> dict[str, Any] | None:
    if labels is None:
        return None
    if isinstance(labels, str):
        return {"name": labels}
    if isinstance(labels, Mapping):
        return dict(labels)
    raise TypeError(f"set labels must be a str or a dict, got {type(labels).__name__}")


def _check_labels(labels: Any) -> None:
    """Refuse labels the index cannot store: when a set is saved, or before a block runs.

    Not when a set is made: one loaded from an older index, or unpickled, may
    hold what is refused now, and must still load.
    """
    normalized = _normalize_labels(labels)
    if normalized is None:
        return
    if isinstance(normalized.get("name"), str):
        check_text(normalized["name"], "the set name", empty=True)
    check_json(normalized, "the set labels")


def _artifact_id_of(item: Any) -> str:
    if is_proxy(item):
        return str(item.artifact.id)
    if isinstance(item, Artifact):
        return item.id
    return check_id(item)


def _unpickle_set(ids: list[str], labels: Any, created_at: datetime | None) -> ArtifactSet:
    return ArtifactSet(ids, labels, created_at=created_at)


class ArtifactSet:
    """An immutable set of artifact ids with labels.

    Set algebra returns new, unsaved sets: ``a | b``, ``a & b``, ``a - b``
    (and :meth:`union`, :meth:`intersection`, :meth:`difference` of any
    number of sets), :meth:`add`, :meth:`remove`, :meth:`relabel`,
    :meth:`rename`.  :meth:`save` (or :meth:`put`) stores one.

    Parameters
    ----------
    artifact_ids : iterable of str, Artifact or ArtifactProxy
        The members.
    labels : str or dict, optional
        A string ``s`` means ``{"name": s}``.
    """

    __slots__ = ("_ids", "created_at", "id", "labels", "repo")

    def __init__(
        self,
        artifact_ids: Iterable[Any] = (),
        labels: Any = None,
        *,
        created_at: datetime | None = None,
        repo: Any = None,
    ) -> None:
        self._ids = frozenset(_artifact_id_of(a) for a in artifact_ids)
        self.labels = _normalize_labels(labels)
        self.id = hash_value({"artifact_ids": sorted(self._ids), "labels": self.labels})
        self.created_at = created_at
        self.repo = repo

    @property
    def artifact_ids(self) -> frozenset[str]:
        """The member ids."""
        return self._ids

    @property
    def name(self) -> str | None:
        """``labels['name']``, if any."""
        return None if self.labels is None else self.labels.get("name")

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._ids))

    def __contains__(self, item: object) -> bool:
        try:
            return _artifact_id_of(item) in self._ids
        except Exception:
            return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArtifactSet) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def value_repr(self) -> dict[str, Any]:
        """What a set is hashed as: its members and labels (so its id), never its repo.

        The original library's hook (:func:`provenance.value_repr`); it lets a
        decorated function take or return a set.
        """
        return {"artifact_ids": sorted(self._ids), "labels": self.labels}

    def __reduce__(self) -> tuple[Any, ...]:
        # A set pickles as its identity, without its repo: a stored set (the value
        # of a function returning one) must not hold a repository, which may live
        # in this process only.  Unpickled, it uses the default repo.
        return (_unpickle_set, (sorted(self._ids), self.labels, self.created_at))

    def __repr__(self) -> str:
        return f"<provenance.ArtifactSet {self.id} labels={self.labels!r} size={len(self)}>"

    def _repr_html_(self) -> str:
        """A card for notebooks: the labels and the first members, from the index."""
        return set_html(self)

    def _derive(self, ids: Iterable[str], labels: Any) -> ArtifactSet:
        return ArtifactSet(ids, labels, repo=self.repo)

    def _labels_for(self, labels: Any, name: str | None) -> Any:
        if name is not None:
            if labels is not None:
                raise ValueError("pass either labels or name, not both")
            return {"name": name}
        return labels

    def union(
        self, *others: ArtifactSet, labels: Any = None, name: str | None = None
    ) -> ArtifactSet:
        """Members of any of the sets (a new, unlabelled set unless ``labels`` or ``name``)."""
        return self._derive(
            self._ids.union(*(o._ids for o in others)), self._labels_for(labels, name)
        )

    def intersection(
        self, *others: ArtifactSet, labels: Any = None, name: str | None = None
    ) -> ArtifactSet:
        """Members of every set."""
        return self._derive(
            self._ids.intersection(*(o._ids for o in others)), self._labels_for(labels, name)
        )

    def difference(
        self, *others: ArtifactSet, labels: Any = None, name: str | None = None
    ) -> ArtifactSet:
        """Members of this set that are in none of the others."""
        return self._derive(
            self._ids.difference(*(o._ids for o in others)), self._labels_for(labels, name)
        )

    def __or__(self, other: ArtifactSet) -> ArtifactSet:
        return self.union(other)

    def __and__(self, other: ArtifactSet) -> ArtifactSet:
        return self.intersection(other)

    def __sub__(self, other: ArtifactSet) -> ArtifactSet:
        return self.difference(other)

    def add(
        self, artifact_or_id: Any, labels: Any = None, *, name: str | None = None
    ) -> ArtifactSet:
        """A new set with one more member (unlabelled unless ``labels`` or ``name``)."""
        return self._derive(
            self._ids | {_artifact_id_of(artifact_or_id)}, self._labels_for(labels, name)
        )

    def remove(
        self, artifact_or_id: Any, labels: Any = None, *, name: str | None = None
    ) -> ArtifactSet:
        """A new set without one member (unlabelled unless ``labels`` or ``name``)."""
        return self._derive(
            self._ids - {_artifact_id_of(artifact_or_id)}, self._labels_for(labels, name)
        )

    def relabel(self, labels: Any) -> ArtifactSet:
        """The same members under new labels (a new set, with a new id)."""
        return self._derive(self._ids, labels)

    def rename(self, name: str) -> ArtifactSet:
        """The same members and labels, under another ``name`` (a new set, with a new id)."""
        return self._derive(self._ids, {**(self.labels or {}), "name": name})

    def save(self, repo: Any = None) -> ArtifactSet:
        """Store the set (idempotent) and return it as stored."""
        _check_labels(self.labels)
        repo = resolve_repo(repo or self.repo)
        created_at = datetime.now(timezone.utc)
        labels_hash = hash_value(self.labels)
        _set_index(repo).put_set(
            {
                "id": self.id,
                "name": self.name,
                "labels": self.labels,
                "labels_hash": labels_hash,
                "size": len(self._ids),
                "created_at": created_at,
            },
            sorted(self._ids),
        )
        return load_set_by_id(self.id, repo=repo)

    def put(self, repo: Any = None) -> ArtifactSet:
        """:meth:`save`, by the original library's name."""
        return self.save(repo)

    def artifacts_named(self, artifact_name: str) -> list[Artifact]:
        """The member artifacts named ``artifact_name`` (a list: names need not be unique)."""
        found = [a for a in self.artifacts().values() if a.name == artifact_name]
        return sorted(found, key=lambda a: (a.computed_at, a.id))

    def artifacts(self) -> dict[str, Artifact]:
        """The member artifacts by id (batched queries)."""
        repo = resolve_repo(self.repo)
        return dict(repo.get_artifacts(self._ids))

    def proxy_dict(self, group_artifacts_of_same_name: bool = False) -> LazyDict:
        """A lazy mapping from artifact name to proxy (see :func:`lazy_proxy_dict`)."""
        return lazy_proxy_dict(self.artifacts().values(), group_artifacts_of_same_name)


def _set_index(repo: Any) -> Any:
    # A chained repo keeps its sets in its first writable member.
    if hasattr(repo, "_writable"):
        repo = repo._writable()[0]
    repo._require("write")
    return repo.index


def _readable_indexes(repo: Any) -> list[Any]:
    members = repo._readable() if hasattr(repo, "_readable") else [repo]
    return [(r, r.index) for r in members]


def _from_row(row: Mapping[str, Any], members: list[str], repo: Any) -> ArtifactSet:
    found = ArtifactSet(members, row["labels"], created_at=row["created_at"], repo=repo)
    if found.id != row["id"]:
        raise SetNotFound(f"artifact set {row['id']} is stored inconsistently (its id differs)")
    return found


def create_set(artifact_ids: Iterable[Any], labels: Any = None, repo: Any = None) -> ArtifactSet:
    """Save a set of artifacts (ids, artifacts or proxies) and return it."""
    return ArtifactSet(artifact_ids, labels).save(repo)


def load_set_by_id(set_id: str, repo: Any = None) -> ArtifactSet:
    """The saved set with id ``set_id``.

    Raises
    ------
    SetNotFound
        If no such set is stored (also a ``KeyError``).
    """
    check_id(set_id, "set id")
    for member_repo, index in _readable_indexes(resolve_repo(repo)):
        row = index.get_set(set_id)
        if row is not None:
            return _from_row(row, index.set_members(set_id), member_repo)
    raise SetNotFound(f"no artifact set with id {set_id}")


def _newest(repo: Any, what: str, **criteria: Any) -> ArtifactSet:
    candidates = []
    for member_repo, index in _readable_indexes(resolve_repo(repo)):
        for row in index.find_sets(limit=1, **criteria):
            candidates.append((row["created_at"], row, index, member_repo))
    if not candidates:
        raise SetNotFound(f"no artifact set with {what}")
    _, row, index, member_repo = max(candidates, key=lambda c: c[0])
    return _from_row(row, index.set_members(row["id"]), member_repo)


def load_set_by_name(set_name: str, repo: Any = None) -> ArtifactSet:
    """The newest saved set whose labels' ``name`` is ``set_name``."""
    check_text(set_name, "the set name", empty=True)
    return _newest(repo, f"name {set_name!r}", name=set_name)


def load_set_by_labels(labels: Any, repo: Any = None) -> ArtifactSet:
    """The newest saved set with exactly these labels."""
    _check_labels(labels)
    normalized = _normalize_labels(labels)
    return _newest(repo, f"labels {normalized!r}", labels_hash=hash_value(normalized))


def label_set(artifact_set_or_id: Any, labels: Any, repo: Any = None) -> ArtifactSet:
    """Save a copy of a set (or of the stored set with that id) with new labels.

    The original library's function: the members stay, the labels (a dict,
    or a string for ``{"name": ...}``) are replaced, and the new set is
    saved and returned.  The old set stays stored.
    """
    repo = resolve_repo(repo)
    if isinstance(artifact_set_or_id, ArtifactSet):
        artifact_set = artifact_set_or_id
    elif isinstance(artifact_set_or_id, str):
        artifact_set = load_set_by_id(artifact_set_or_id, repo=repo)
    else:
        raise TypeError(
            f"label_set() takes an ArtifactSet or a set id, got {type(artifact_set_or_id).__name__}"
        )
    return artifact_set.relabel(labels).save(repo)


def delete_set(set_id: str, repo: Any = None) -> None:
    """Remove a stored set from a repo (its member artifacts stay).

    Raises
    ------
    SetNotFound
        If no readable member of the repo held it.
    PermissionDenied
        If the repo (or the member holding it) does not allow deletes.
    """
    check_id(set_id, "set id")
    repo = resolve_repo(repo)
    _require_delete(repo)
    deleted = False
    for member_repo, index in _readable_indexes(repo):
        if index.get_set(set_id) is not None:
            _require_delete(member_repo)
            deleted = index.delete_set(set_id) or deleted
    if not deleted:
        raise SetNotFound(f"no artifact set with id {set_id}")


def _require_delete(repo: Any) -> None:
    if not getattr(repo, "delete_allowed", False):
        raise PermissionDenied(f"{repo!r} is not configured to delete (delete: false)")


# The repositories' set methods (the original's put_set, get_set_by_id, ...) call these.
SET_VERBS.update(
    load_set_by_id=load_set_by_id,
    load_set_by_labels=load_set_by_labels,
    load_set_by_name=load_set_by_name,
    delete_set=delete_set,
)


class SetCapture:
    """What :func:`capture_set` yields: the ids captured so far, then the saved set.

    ``capture[0]`` is the saved set after the block, as in the original
    library (``with capture_set() as result: ...; result[0]``).
    """

    def __init__(self, initial: Iterable[str]) -> None:
        self.artifact_ids: set[str] = set(initial)
        self.set: ArtifactSet | None = None

    def __getitem__(self, index: int) -> ArtifactSet:
        if index != 0 or self.set is None:
            raise IndexError("the captured set exists once the with block has ended")
        return self.set

    def __repr__(self) -> str:
        if self.set is not None:
            return f"<provenance.SetCapture saved {self.set!r}>"
        return f"<provenance.SetCapture capturing, {len(self.artifact_ids)} artifacts so far>"

    def _repr_html_(self) -> str:
        """A card for notebooks: the saved set, or the ids captured so far."""
        return capture_html(self)


@contextlib.contextmanager
def capture_set(
    labels: Any = None, initial_set: ArtifactSet | Iterable[Any] | None = None, repo: Any = None
) -> Iterator[SetCapture]:
    """Record every artifact computed or loaded in the block, and save them as a set.

    Only the current thread (and context) is observed.  Cache hits and
    :func:`~provenance.load_artifact` / :func:`~provenance.load_proxy` count.
    The set is saved when the block exits without an exception.
    """
    _check_labels(labels)  # bad labels fail before the block runs, not after
    initial = initial_set.artifact_ids if isinstance(initial_set, ArtifactSet) else initial_set
    capture = SetCapture(_artifact_id_of(a) for a in (initial or ()))

    def observe(artifact: Artifact) -> None:
        capture.artifact_ids.add(artifact.id)

    token = artifact_observers.set(artifact_observers.get() + (observe,))
    try:
        yield capture
    finally:
        artifact_observers.reset(token)
    capture.set = create_set(capture.artifact_ids, labels, repo=repo)


def provenance_set(
    set_labels: Any = None,
    initial_set: ArtifactSet | None = None,
    set_labels_fn: Callable[..., Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., ArtifactSet]]:
    """Decorate a function so that calling it returns the set of artifacts it made or loaded.

    Parameters
    ----------
    set_labels : str or dict, optional
        Labels of the saved set.
    initial_set : ArtifactSet, optional
        Members to start from.
    set_labels_fn : callable, optional
        Called with the function's arguments to compute the labels: each
        named parameter by name (defaults included), ``*args`` positionally,
        as the original library did (``lambda **kw: dict(kw, name="n")``).
    """
    if set_labels is not None and set_labels_fn is not None:
        raise ValueError("pass either set_labels or set_labels_fn, not both")
    _check_labels(set_labels)  # at decoration time

    def decorate(fn: Callable[..., Any]) -> Callable[..., ArtifactSet]:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> ArtifactSet:
            labels = set_labels
            if set_labels_fn is not None:
                positional, named = _by_name(sig, args, kwargs)
                labels = set_labels_fn(*positional, **named)
            with capture_set(labels, initial_set) as captured:
                fn(*args, **kwargs)
            return captured[0]

        return wrapper

    return decorate


def _by_name(
    sig: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """A call's arguments as ``set_labels_fn`` takes them: ``(positional, by_name)``."""
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    positional: list[Any] = []
    by_name: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = sig.parameters[name].kind
        if kind is inspect.Parameter.POSITIONAL_ONLY:
            positional.append(value)  # cannot be passed by name
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            positional.extend(value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            by_name.update(value)
        else:
            by_name[name] = value
    return positional, by_name
