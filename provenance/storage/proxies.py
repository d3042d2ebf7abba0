"""What a repository hands out as values: proxies, lazy dicts and composites.

An :class:`ArtifactProxy` behaves like the value it wraps (operators,
attributes, iteration, ``isinstance``) and carries ``.artifact``.  A
:class:`CompositeDict` is the value of a ``returns_composite=True`` call.
Both pickle as a reference to their artifact.
"""

from __future__ import annotations

import copy
import functools
import json
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import wrapt

from ..display import composite_html
from ..hashing import hash_bytes, value_digest
from .spill import verify_blob

if TYPE_CHECKING:
    from .artifact import Artifact

__all__ = [
    "ArtifactProxy",
    "CompositeDict",
    "LazyDict",
    "TransformedProxy",
    "is_proxy",
    "lazy_dict",
    "transform_value",
]


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
    #: The class a per-value-type variant was made from (copies keep it).
    _base: type[ArtifactProxy]

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
        return type(self)._base(copy.copy(self.__wrapped__), self._self_artifact)

    def __deepcopy__(self, memo: dict[int, Any]) -> ArtifactProxy:
        return type(self)._base(copy.deepcopy(self.__wrapped__, memo), self._self_artifact)

    def transform_value(self, transformer_fn: Callable[[Any], Any]) -> TransformedProxy:
        """Another representation of this value that keeps its artifact (for lineage).

        ``transformer_fn(proxy)`` gives the new value; archived files are the
        common case (``archived.transform_value(pd.read_csv)``).  Unlike in
        the original library, the transformed value is hashed as what it is
        when passed to a decorated function: two transforms of one artifact
        are two different inputs, never served each other's results.
        """
        return TransformedProxy(transformer_fn(self), self._self_artifact)

    def __new__(cls, value: Any = None, artifact: Any = None) -> ArtifactProxy:
        # Special methods are looked up on the type, and a proxy must not
        # claim abilities its value lacks (pandas treats any callable key
        # specially, for one): pick a subclass with exactly the value's.
        if cls in _BASES:
            kind = type(value)
            variants = _variant_of_type[cls]
            variant = variants.get(kind)
            if variant is None:
                features = tuple(name for name in _OPTIONAL_METHODS if hasattr(kind, name))
                variant = _proxy_variant(cls, features) if features else cls
                variants[kind] = variant
            cls = variant
        return super().__new__(cls)


class TransformedProxy(ArtifactProxy):
    """A proxy whose value is a transformation of its artifact's (see ``transform_value``).

    It records lineage to the artifact, but its hash is its value's: the
    transformation is not recorded anywhere, so only the value can tell two
    transformations apart.  It pickles with its value.
    """

    def _provenance_digest_(self) -> bytes:
        """Its hash as an argument: the transformed value's (read by provenance.hashing)."""
        return value_digest(self.__wrapped__)

    def __repr__(self) -> str:
        return f"<provenance.TransformedProxy({self._self_artifact.id}) {self.__wrapped__!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (TransformedProxy._base, (self.__wrapped__, self._self_artifact))


#: The proxy classes that get per-value-type variants; a variant's
#: ``_base`` is the class it was made for.
_BASES = (ArtifactProxy, TransformedProxy)
ArtifactProxy._base = ArtifactProxy
TransformedProxy._base = TransformedProxy


def transform_value(proxy: Any, transformer_fn: Callable[[Any], Any]) -> TransformedProxy:
    """``proxy.transform_value(transformer_fn)``: the original library's ``repos`` function."""
    return proxy.transform_value(transformer_fn)


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
_variants: dict[tuple[type, tuple[str, ...]], type] = {}
#: Per proxy class, the variant for each value type (weak: classes made in a loop go).
_variant_of_type: dict[type, weakref.WeakKeyDictionary[type, type]] = {
    base: weakref.WeakKeyDictionary() for base in _BASES
}


def _proxy_variant(base: type, features: tuple[str, ...]) -> type:
    cls = _variants.get((base, features))
    if cls is None:
        namespace = {name: _OPTIONAL_METHODS[name] for name in features}
        cls = type(base.__name__, (base,), namespace)
        cls.__qualname__ = base.__qualname__
        _variants[base, features] = cls
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


def _itself(value: Any) -> Any:
    return value


class LazyDict(MutableMapping[str, Any]):
    """A mapping whose values are computed on first access (the original's ``lazy_dict``).

    Setting a key stores a value as it is; deleting one drops it.

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

    def __setitem__(self, key: str, value: Any) -> None:
        self._thunks[key] = functools.partial(_itself, value)
        self._values[key] = value

    def __delitem__(self, key: str) -> None:
        del self._thunks[key]
        self._values.pop(key, None)

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

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError(
            f"the members of composite artifact {self.artifact.id} are stored artifacts: "
            "copy it into a dict (dict(composite)) to change it"
        )

    def __delitem__(self, key: str) -> None:
        self.__setitem__(key, None)

    def __repr__(self) -> str:
        return f"<provenance.CompositeDict({self.artifact.id}) keys={list(self)!r}>"

    def _repr_html_(self) -> str:
        """A card for notebooks: the composite's artifact and each key's (nothing loaded)."""
        return composite_html(self)

    @property
    def _provenance_value_id_(self) -> str:
        # A composite carries its artifact like a proxy: lineage, recorded inputs.
        return self.artifact.value_id

    def _provenance_digest_(self) -> bytes:
        """Its hash as an argument: of its artifact, or of what it holds once a member changed.

        Read by provenance.hashing.  The members loaded so far are hashed
        again (those whose values are mutable), as proxies are.
        """
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


def composite_value(repo: Any, artifact: Artifact) -> CompositeDict:
    """The value of a composite artifact: its member index (JSON, verified) made lazy."""
    inline = artifact._get("value_inline")
    if inline is not None:
        data = bytes(inline)
    else:
        data = repo.blobstore.get(artifact.blob_id) if artifact.blob_id else b"{}"
    verify_blob(hash_bytes(data), (artifact.blob_id or "").split(".", 1)[0], artifact)
    members = json.loads(data)
    thunks = {k: (lambda i=i: repo.get_artifact(i).proxy()) for k, i in members.items()}
    return CompositeDict(artifact, thunks, members)
