"""Artifacts (the record of one call) and proxies (its value, carrying the record).

An :class:`Artifact` wraps one index row and loads its value lazily.  An
:class:`ArtifactProxy` behaves like the value it wraps (operators, attributes,
iteration, ``isinstance``) and carries ``.artifact``.  Both pickle small: by
repository and id, so they can be sent to worker processes that reopen the
same repository.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import wrapt

from .storage.index import COLUMNS, DEFERRED, decode_datetime, decode_json

if TYPE_CHECKING:
    from .storage.repos import Repository

__all__ = [
    "Artifact",
    "ArtifactProxy",
    "CompositeDict",
    "LazyDict",
    "is_proxy",
    "lazy_dict",
    "lazy_proxy_dict",
]

_I = {name: i for i, name in enumerate(COLUMNS)}
_UNSET = object()


def _column(name: str, doc: str) -> property:
    i = _I[name]

    def get(self: Artifact) -> Any:
        value = self._row[i]
        return self._get(name) if value is DEFERRED else value

    return property(get, doc=doc)


def _json_column(name: str, doc: str) -> property:
    def get(self: Artifact) -> Any:
        cache = self._decoded
        if name not in cache:
            cache[name] = decode_json(self._get(name))
        return cache[name]

    return property(get, doc=doc)


class Artifact:
    """The stored record of one decorated call.

    Attributes are read from the index row; ``value`` and ``inputs`` are
    loaded from the blobstore on first access.
    """

    __slots__ = ("_decoded", "_row", "_value", "repo")

    def __init__(self, repo: Repository | None, row: Sequence[Any], value: Any = _UNSET):
        self.repo = repo
        self._row = list(row)
        self._decoded: dict[str, Any] = {}
        self._value = value

    def _get(self, name: str) -> Any:
        """A column's raw value, fetching the deferred columns on first need."""
        i = _I[name]
        value = self._row[i]
        if value is DEFERRED:
            fetched = self.repo.index.get_deferred(self.id) if self.repo is not None else {}
            for column, fetched_value in fetched.items():
                self._row[_I[column]] = fetched_value
            value = self._row[i]
            if value is DEFERRED:
                value = self._row[i] = None
        return value

    id: str = _column("id", "The artifact id: a hash of the name, version and inputs.")  # type: ignore[assignment]
    value_id: str = _column("value_id", "The canonical hash of the value.")  # type: ignore[assignment]
    blob_id: str | None = _column(  # type: ignore[assignment]
        "blob_id", "The blobstore key: the hash of the serialized bytes."
    )
    hash_scheme: str = _column("hash_scheme", "The hashing scheme the ids were made with.")  # type: ignore[assignment]
    name: str = _column("name", "The artifact name (the function name by default).")  # type: ignore[assignment]
    version: int = _column("version", "The version given to the decorator.")  # type: ignore[assignment]
    fn_module: str | None = _column("fn_module", "Module of the decorated function.")  # type: ignore[assignment]
    fn_name: str | None = _column("fn_name", "Qualified name of the decorated function.")  # type: ignore[assignment]
    serializer: str = _column("serializer", "Name of the serializer that stored the value.")  # type: ignore[assignment]
    size: int | None = _column("size", "Stored size of the value in bytes.")  # type: ignore[assignment]
    compute_duration: float | None = _column(  # type: ignore[assignment]
        "compute_duration", "Seconds the function ran."
    )
    hash_duration: float | None = _column(  # type: ignore[assignment]
        "hash_duration", "Seconds spent hashing the value."
    )
    input_id_duration: float | None = _column(  # type: ignore[assignment]
        "input_id_duration", "Seconds spent hashing the inputs into the id."
    )
    code_fingerprint: str | None = _column(  # type: ignore[assignment]
        "code_fingerprint",
        "The fingerprint of the function's code when it computed the value "
        "(see :mod:`provenance.fingerprint`); None for artifacts stored before it was recorded.",
    )
    input_hashes: dict[str, Any] | None = _json_column(  # type: ignore[assignment]
        "input_hashes",
        "The argument hashes the id was made from: ``{'kargs': ..., 'varargs': ...}``.",
    )
    load_kwargs: dict[str, Any] | None = _json_column("load_kwargs", "Keyword arguments of load.")  # type: ignore[assignment]
    dump_kwargs: dict[str, Any] | None = _json_column("dump_kwargs", "Keyword arguments of dump.")  # type: ignore[assignment]
    inputs_json: dict[str, Any] | None = _json_column(  # type: ignore[assignment]
        "inputs_json", "A JSON summary of the inputs, as stored in the index for queries."
    )
    custom_fields: dict[str, Any] = _json_column("custom_fields", "User fields (JSON).")  # type: ignore[assignment]
    run_info: dict[str, Any] = _json_column(  # type: ignore[assignment]
        "run_info", "Host, process, user, Python version and start time of the computing process."
    )

    @property
    def composite(self) -> bool:
        """Whether the value is a dict of artifacts (``returns_composite=True``)."""
        return bool(self._get("composite"))

    _input_artifact_ids = _json_column("input_artifact_ids", "")

    @property
    def input_artifact_ids(self) -> list[str]:
        """Ids of the artifacts passed as inputs (the lineage parents)."""
        return list(self._input_artifact_ids or [])

    @property
    def computed_at(self) -> datetime:
        """When the computation started (UTC)."""
        if "computed_at" not in self._decoded:
            self._decoded["computed_at"] = decode_datetime(self._get("computed_at"))
        return self._decoded["computed_at"]

    @property
    def tags(self) -> list[str]:
        """The tags given to the decorator."""
        return list((self.custom_fields or {}).get("tags", []))

    @property
    def inputs(self) -> dict[str, Any]:
        """The recorded inputs: ``{'kargs': {...}, 'varargs': [...]}``.

        Parameters passed as artifacts come back as proxies.  Parameters the
        decorator was told to ``remove`` are absent.
        """
        if "inputs" not in self._decoded:
            self._decoded["inputs"] = self._load_inputs()
        return self._decoded["inputs"]

    def _load_inputs(self) -> dict[str, Any]:
        data = self._get("inputs_pickle")
        blob = self._get("inputs_blob_id")
        if data is None and blob is not None and self.repo is not None:
            data = self.repo.blobstore.get(blob)
        if data is None:
            return {"kargs": {}, "varargs": []}
        from .inputs import loads_inputs

        return loads_inputs(bytes(data), self.repo)

    @property
    def value(self) -> Any:
        """The value, loaded (and verified against its hash) on first access."""
        if self._value is _UNSET:
            if self.repo is None:
                raise RuntimeError(f"artifact {self.id} is detached from any repository")
            self._value = self.repo.load_value(self)
        return self._value

    @property
    def value_loaded(self) -> bool:
        """Whether the value is already in memory."""
        return self._value is not _UNSET

    def proxy(self) -> ArtifactProxy:
        """The value wrapped in an :class:`ArtifactProxy` that carries this artifact."""
        value = self.value
        if self.composite:
            return value
        if self.serializer == "file":
            from .archive import ArchivedFile

            return ArchivedFile(value.repo, value.blob_id, artifact=self)  # type: ignore[return-value]
        return ArtifactProxy(value, self)

    def to_dict(self) -> dict[str, Any]:
        """The metadata as plain data (no value, no pickled inputs)."""
        out = {
            name: getattr(self, name)
            for name in COLUMNS
            if name
            not in (
                "inputs_pickle",
                "value_inline",
                "composite",
                "input_artifact_ids",
                "computed_at",
            )
        }
        out["composite"] = self.composite
        out["input_artifact_ids"] = self.input_artifact_ids
        out["computed_at"] = self.computed_at
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Artifact) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<provenance.Artifact {self.id} {self.name} v{self.version}>"

    def __reduce__(self) -> tuple[Any, ...]:
        from .storage.repos import artifact_from_spec

        spec = self.repo.shareable_spec() if self.repo is not None else None
        if spec is not None:
            return (artifact_from_spec, (spec, self.id))
        # A repo that exists only in this process: carry the row and value.
        row = [self._get(name) for name in COLUMNS]
        return (_detached_artifact, (row, self.value))


def _detached_artifact(row: Sequence[Any], value: Any) -> Artifact:
    return Artifact(None, row, value)


class ArtifactProxy(wrapt.ObjectProxy):
    """A value that carries the :class:`Artifact` it came from.

    It behaves like the wrapped value: attribute access, operators,
    iteration, ``len``, ``isinstance(proxy, type(value))`` and numpy or pandas
    operations all reach the value.  ``proxy.artifact`` gives the record.
    Passing a proxy to a decorated function records lineage, and its hash is
    the artifact's ``value_id``.  A mutable value is hashed again to check
    it: one changed in place hashes as what it holds now (see
    :func:`provenance.hashing.changed_proxies`).
    """

    #: Read by provenance.hashing: the value may have changed in place, check it.
    _provenance_rehash_ = True

    def __init__(self, value: Any, artifact: Artifact) -> None:
        super().__init__(value)
        self._self_artifact = artifact

    @property
    def artifact(self) -> Artifact:
        """The artifact this value was computed or loaded as."""
        return self._self_artifact

    @property
    def _provenance_value_id_(self) -> str:
        # Read by provenance.hashing on the proxy's type: a proxy hashes as
        # its recorded value id.
        return self._self_artifact.value_id

    def __repr__(self) -> str:
        return f"<provenance.ArtifactProxy({self._self_artifact.id}) {self.__wrapped__!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_proxy_of, (self._self_artifact,))

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return self.__reduce__()

    def __copy__(self) -> ArtifactProxy:
        import copy

        return ArtifactProxy(copy.copy(self.__wrapped__), self._self_artifact)

    def __deepcopy__(self, memo: dict[int, Any]) -> ArtifactProxy:
        import copy

        return ArtifactProxy(copy.deepcopy(self.__wrapped__, memo), self._self_artifact)

    def __new__(cls, value: Any = None, artifact: Any = None) -> ArtifactProxy:
        # Special methods are looked up on the type, and a proxy must not
        # claim abilities its value lacks (pandas treats any callable key
        # specially, for one): pick a subclass with exactly the value's.
        if cls is ArtifactProxy:
            kind = type(value)
            variant = _variant_of_type.get(kind)
            if variant is None:
                features = tuple(name for name in _OPTIONAL_METHODS if hasattr(kind, name))
                variant = _proxy_variant(features) if features else ArtifactProxy
                _variant_of_type[kind] = variant
            cls = variant
        return super().__new__(cls)


def _call(self: Any, *args: Any, **kwargs: Any) -> Any:
    return self.__wrapped__(*args, **kwargs)


def _fspath(self: Any) -> Any:
    return self.__wrapped__.__fspath__()


def _next(self: Any) -> Any:
    return next(self.__wrapped__)


def _array(self: Any, *args: Any, **kwargs: Any) -> Any:
    return self.__wrapped__.__array__(*args, **kwargs)


# Special methods wrapt's ObjectProxy does not forward, added per value type.
_OPTIONAL_METHODS: dict[str, Callable[..., Any]] = {
    "__call__": _call,
    "__fspath__": _fspath,
    "__next__": _next,
    "__array__": _array,
}
_variants: dict[tuple[str, ...], type] = {}
_variant_of_type: weakref.WeakKeyDictionary[type, type] = weakref.WeakKeyDictionary()


def _proxy_variant(features: tuple[str, ...]) -> type:
    cls = _variants.get(features)
    if cls is None:
        namespace = {name: _OPTIONAL_METHODS[name] for name in features}
        cls = type("ArtifactProxy", (ArtifactProxy,), namespace)
        cls.__qualname__ = "ArtifactProxy"
        _variants[features] = cls
    return cls


def _proxy_of(artifact: Artifact) -> ArtifactProxy:
    return artifact.proxy()


def is_proxy(obj: Any) -> bool:
    """Whether ``obj`` is the value of an artifact that carries it (``obj.artifact``).

    True for :class:`ArtifactProxy`, archived files and composites (:class:`CompositeDict`).
    """
    # The marker is looked up on the type: a proxy forwards attribute
    # access to its value, but not its type.
    return getattr(type(obj), "_provenance_value_id_", None) is not None


# -- lazy dicts --------------------------------------------------------------


class LazyDict(Mapping[str, Any]):
    """A read-only mapping whose values are computed on first access.

    Parameters
    ----------
    thunks : mapping of key to zero-argument callable
    """

    def __init__(self, thunks: Mapping[str, Callable[[], Any]]) -> None:
        self._thunks = dict(thunks)
        self._values: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            thunk = self._thunks[key]
            self._values[key] = thunk()
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._thunks)

    def __len__(self) -> int:
        return len(self._thunks)

    def __contains__(self, key: object) -> bool:
        return key in self._thunks

    def __repr__(self) -> str:
        shown = {k: self._values.get(k, "<not loaded>") for k in self}
        return f"LazyDict({shown!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self.items()),))


class CompositeDict(LazyDict):
    """The value of a ``returns_composite=True`` call: each key its own artifact.

    Values are loaded as proxies on first access; ``.artifact`` is the
    composite artifact itself.
    """

    def __init__(
        self,
        artifact: Artifact,
        thunks: Mapping[str, Callable[[], Any]],
        member_ids: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(thunks)
        self.artifact = artifact
        #: The artifact id of each key.
        self.member_ids = dict(member_ids or {})

    def __reduce__(self) -> tuple[Any, ...]:
        return (_proxy_of, (self.artifact,))

    def __repr__(self) -> str:
        return f"<provenance.CompositeDict({self.artifact.id}) keys={list(self)!r}>"

    @property
    def _provenance_value_id_(self) -> str:
        # A composite carries its artifact like a proxy: lineage, recorded inputs.
        return self.artifact.value_id

    def _provenance_digest_(self) -> bytes:
        """Its hash as an argument: of its artifact, or of what it holds once a member changed.

        Read by provenance.hashing.  The members loaded so far are hashed
        again (those whose values are mutable), as proxies are.
        """
        from .hashing import value_digest

        loaded = {key: value_digest(value) for key, value in self._values.items()}
        unchanged = all(
            digest.hex() == getattr(self._values[key], "_provenance_value_id_", None)
            for key, digest in loaded.items()
        )
        if unchanged:
            return value_digest(("composite", self.artifact.value_id))
        # Changed: a plain dict of what it holds now (every member loaded, so
        # that the digest does not depend on which ones were read before).
        return value_digest({key: self[key] for key in self})


def lazy_dict(thunks: Mapping[str, Callable[[], Any]]) -> LazyDict:
    """A dict whose values are the results of ``thunks``, each called on first access."""
    return LazyDict(thunks)


def _proxies(artifacts: list[Artifact]) -> list[Any]:
    return [a.proxy() for a in artifacts]


def lazy_proxy_dict(
    artifacts_or_ids: Iterable[Artifact | str | ArtifactProxy],
    group_artifacts_of_same_name: bool = False,
) -> LazyDict:
    """A dict from artifact name to proxy, each loaded on first access.

    Parameters
    ----------
    artifacts_or_ids : iterable of Artifact, ArtifactProxy or id
    group_artifacts_of_same_name : bool
        If true, a name maps to the list of proxies of that name; otherwise
        two artifacts of the same name are an error.

    Raises
    ------
    ValueError
        If two artifacts share a name and grouping was not asked for.
    """
    from .config import get_default_repo

    artifacts: list[Artifact] = []
    for item in artifacts_or_ids:
        if is_proxy(item):
            artifacts.append(item.artifact)  # type: ignore[union-attr]
        elif isinstance(item, Artifact):
            artifacts.append(item)
        else:
            artifacts.append(get_default_repo().get_artifact(item))
    by_name: dict[str, list[Artifact]] = {}
    for a in artifacts:
        by_name.setdefault(a.name, []).append(a)
    if group_artifacts_of_same_name:
        return LazyDict({n: functools.partial(_proxies, group) for n, group in by_name.items()})
    dupes = sorted(n for n, group in by_name.items() if len(group) > 1)
    if dupes:
        raise ValueError(
            f"several artifacts are named {', '.join(map(repr, dupes))}; "
            "pass group_artifacts_of_same_name=True to get lists"
        )
    return LazyDict({n: group[0].proxy for n, group in by_name.items()})
