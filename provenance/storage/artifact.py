"""The record of one call: an :class:`Artifact` wraps one index row.

Its columns are read from the row; ``value`` and ``inputs`` are loaded from
the repository on first access.  It pickles small: by repository and id, so
that it can be sent to worker processes that reopen the same repository.

The record needs a few things of the repository it came from, named by the
:class:`ArtifactSource` protocol, so that it does not depend on the
repository classes (which build records: the dependency goes one way).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from ..display import artifact_html
from ..display.html import one_line
from .archived import ArchivedFile
from .index import COLUMNS, DEFERRED, decode_datetime, decode_json
from .inputs import loads_inputs
from .proxies import ArtifactProxy
from .trust import check_inputs

__all__ = ["Artifact", "ArtifactSource"]


class ArtifactSource(Protocol):
    """What an :class:`Artifact` needs of the repository that holds it.

    :class:`~provenance.storage.repos.Repository` implements it; the records
    a :class:`~provenance.storage.repos.ChainedRepository` hands out belong
    to the member repository that holds them.
    """

    @property
    def index(self) -> Any:
        """The SQL index; ``index.get_deferred(id)`` fetches the columns a row left out."""

    @property
    def blobstore(self) -> Any:
        """The blobstore; ``blobstore.get(key)`` returns the bytes of the inputs blob."""

    @property
    def trusted(self) -> bool:
        """Whether pickles (values, recorded inputs) may be loaded from it (see :mod:`.trust`)."""

    def load_value(self, artifact: Artifact) -> Any:
        """The artifact's value, read from the blobstore and verified against its hash."""

    def get_artifact(self, artifact_id: str) -> Artifact:
        """The artifact of an id (recorded inputs refer to their artifacts by id)."""

    def reduce_artifact(self, artifact_id: str) -> tuple[Any, ...] | None:
        """How to pickle a reference to an artifact: ``(callable, args)`` that reloads it
        from this repo in another process, or ``None`` if the repo lives in this one only."""


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

    def __init__(self, repo: ArtifactSource | None, row: Sequence[Any], value: Any = _UNSET):
        #: The repository it came from: typed loosely, since callers use the whole
        #: repository (its sets, sources, lineage), not only the ArtifactSource part.
        self.repo: Any = repo
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
        "inputs_json",
        "A JSON summary of the inputs, as stored in the index for queries, in the original "
        "library's layout: one key per parameter, plus ``__varargs``.",
    )
    custom_fields: dict[str, Any] = _json_column("custom_fields", "User fields (JSON).")  # type: ignore[assignment]
    run_info: dict[str, Any] = _json_column(  # type: ignore[assignment]
        "run_info", "Host, process, user, Python version and start time of the computing process."
    )

    @property
    def inputs_summary(self) -> dict[str, Any]:
        """:attr:`inputs_json` as ``{'kargs': {...}, 'varargs': [...]}``.

        Reads both layouts: the original's (stored since scheme ``xxh3_128/3``)
        and the nested one that provenance 0.2 stored.
        """
        stored = self.inputs_json or {}
        if "__varargs" in stored:
            kargs = {k: v for k, v in stored.items() if k != "__varargs"}
            return {"kargs": kargs, "varargs": list(stored["__varargs"] or [])}
        return {
            "kargs": dict(stored.get("kargs") or {}),
            "varargs": list(stored.get("varargs") or []),
        }

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
        """The recorded inputs: ``{'kargs': {...}, 'varargs': (...)}``.

        Parameters passed as artifacts come back as proxies; one whose
        artifact was removed or evicted since is an
        :class:`~provenance.storage.stored_inputs.InputArtifactGone` naming
        it.  Parameters the decorator was told to ``remove`` are absent.

        Raises
        ------
        UntrustedValue
            If the repo is not trusted: the inputs are a pickle
            (:attr:`inputs_json` is their JSON summary).
        """
        if "inputs" not in self._decoded:
            self._decoded["inputs"] = self._load_inputs()
        return self._decoded["inputs"]

    def _load_inputs(self) -> dict[str, Any]:
        data = self._get("inputs_pickle")
        blob = self._get("inputs_blob_id")
        if self.repo is not None and (data is not None or blob is not None):
            check_inputs(self.repo, self)  # before any byte of the pickle is read
        if data is None and blob is not None and self.repo is not None:
            data = self.repo.blobstore.get(blob)
        if data is None:
            return {"kargs": {}, "varargs": ()}
        inputs = loads_inputs(bytes(data), self.repo, self.id)
        # A tuple, as in the original library (provenance 0.2 stored a list).
        if isinstance(inputs, dict) and isinstance(inputs.get("varargs"), list):
            inputs["varargs"] = tuple(inputs["varargs"])
        return inputs

    @property
    def value(self) -> Any:
        """The value, loaded (and verified against its hash) on first access.

        Raises
        ------
        UntrustedValue
            If the repo is not trusted and the value's serializer can run
            code when loading (a pickle).
        """
        if self._value is _UNSET:
            if self.repo is None:
                raise RuntimeError(f"artifact {self.id} is detached from any repository")
            self._value = self.repo.load_value(self)
        return self._value

    def unload(self) -> None:
        """Drop the value held in memory: the next use loads it from the store again.

        For a value changed in place after it was stored (a flow step that
        mutated an artifact it read): the other readers get the stored one.
        """
        if self.repo is not None:
            self._value = _UNSET

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

    def value_repr(self) -> tuple[str, str]:
        """What an artifact passed as an argument is hashed as: its id (as in the original).

        Not its loaded value, its repo or its cached columns, so the same
        artifact fetched twice hashes alike.
        """
        return ("artifact", self.id)

    def __repr__(self) -> str:
        # A name may hold a line break (it is the user's): the repr stays one line.
        return f"<provenance.Artifact {self.id} {one_line(str(self.name))} v{self.version}>"

    def _repr_html_(self) -> str:
        """A card for notebooks: what it is, how it was made, its inputs and lineage.

        Read from the index (the value is not loaded); see :mod:`provenance.display`.
        """
        return artifact_html(self)

    def __reduce__(self) -> tuple[Any, ...]:
        reduced = self.repo.reduce_artifact(self.id) if self.repo is not None else None
        if reduced is not None:
            return reduced
        # A repo that exists only in this process: carry the row and value.
        row = [self._get(name) for name in COLUMNS]
        return (_detached_artifact, (row, self.value))


def _detached_artifact(row: Sequence[Any], value: Any) -> Artifact:
    return Artifact(None, row, value)
