"""The exceptions raised by ``provenance``.

Every error the library raises on purpose derives from :class:`ProvenanceError`,
so ``except provenance.ProvenanceError`` catches them all.  Where a built-in
exception describes the same situation, the error inherits from it too, so code
written against the built-in (``except KeyError``) keeps working::

    ProvenanceError
    ├── ConfigError (ValueError)            a bad configuration key or value
    ├── InvalidValue (ValueError)           a string or JSON value the index cannot store or look up
    │   ├── InvalidId                       an id that is not well formed
    │   │   └── AmbiguousId                 an id prefix that several ids start with
    │   ├── MetaflowInvalidPathspec         (also a ClientError, below)
    │   └── MetaflowTaggingError            (also a ClientError, below)
    ├── NotFound (KeyError)
    │   ├── ArtifactNotFound                no artifact with that id
    │   ├── BlobNotFound                    the blobstore has no such blob
    │   ├── SetNotFound                     no artifact set with that id or name
    │   ├── RepoNotFound                    no configured repo with that name
    │   └── MetaflowNotFound                no flow, run, step, task or data artifact there
    ├── HashingError (TypeError)            a value that cannot be hashed
    ├── SerializationError                  a value that cannot be (de)serialized
    │   └── UnknownSerializer (ValueError)  a serializer name nobody registered
    ├── ImpureFunctionError                 a function changed its inputs in place
    ├── MutatedArtifactValueError           an artifact's value was changed in place
    ├── NotAProxyError (ValueError, TypeError)  a plain value where a proxy is required
    ├── PermissionDenied (PermissionError)  a repo or store lacks the read/write/delete flag,
    │                                       or its files cannot be written (a read-only mount)
    ├── UntrustedValue (PermissionError)    loading it could run code, and its repo is not trusted
    ├── StorageError                        the index or the blobstore is damaged, down or full
    │   ├── CorruptBlob                     stored bytes do not match their hash
    │   ├── IndexDamaged                    the index file is empty or malformed
    │   ├── IndexUnavailable (ConnectionError)  the index server cannot be reached
    │   └── StorageFull (OSError)           no space left where a value or row is written
    ├── SchemaError                         the index schema cannot be used
    │   └── SchemaOutdated                  the index needs ``provenance db upgrade``
    ├── MissingDependency (ImportError)     an optional extra is not installed
    ├── FlowError                           a FlowSpec flow that cannot run, or a step misusing it
    │   └── MergeArtifactsException         merge_artifacts met inputs that disagree
    └── ClientError                         the client view (provenance.client):
        ├── MetaflowInvalidPathspec (InvalidValue)  a malformed pathspec
        ├── MetaflowNamespaceMismatch               an object outside the current namespace
        └── MetaflowTaggingError (InvalidValue)     a bad tag or tag operation

Warnings derive from :class:`ProvenanceWarning` (a ``UserWarning``)::

    ProvenanceWarning
    ├── ArtifactNameWarning         two functions share an artifact name
    ├── CodeChangedWarning          a cached value was computed by other code (same version)
    ├── MutatedArtifactValueWarning an argument's artifact value was changed in place
    ├── PathArgumentWarning         a str argument names a file: its contents are not its identity
    ├── SerializerFallbackWarning   a type's serializer is missing its package: the default is used
    └── UnstorableValueWarning      a computed value cannot be stored: it is returned unstored
"""

from __future__ import annotations

__all__ = [
    "AmbiguousId",
    "ArtifactNameWarning",
    "ArtifactNotFound",
    "BlobNotFound",
    "ConfigError",
    "FlowError",
    "MergeArtifactsException",
    "CorruptBlob",
    "HashingError",
    "ClientError",
    "CodeChangedWarning",
    "ImpureFunctionError",
    "IndexDamaged",
    "IndexUnavailable",
    "InvalidId",
    "InvalidValue",
    "MetaflowInvalidPathspec",
    "MetaflowNamespaceMismatch",
    "MetaflowNotFound",
    "MetaflowTaggingError",
    "MissingDependency",
    "MutatedArtifactValueError",
    "MutatedArtifactValueWarning",
    "PathArgumentWarning",
    "NotAProxyError",
    "NotFound",
    "PermissionDenied",
    "ProvenanceError",
    "ProvenanceWarning",
    "RepoNotFound",
    "SchemaError",
    "SchemaOutdated",
    "SerializerFallbackWarning",
    "SerializationError",
    "SetNotFound",
    "StorageError",
    "StorageFull",
    "UnknownSerializer",
    "UnstorableValueWarning",
    "UntrustedValue",
]


class ProvenanceError(Exception):
    """Root of every error raised by ``provenance``."""


class ConfigError(ProvenanceError, ValueError):
    """A configuration is malformed; the message names the offending key."""


class InvalidValue(ProvenanceError, ValueError):
    """A value that cannot be stored or looked up: it is refused before anything runs.

    Raised by :mod:`provenance.storage.validate` for a name, label, tag,
    custom field or pathspec that holds a NUL character or a lone surrogate,
    is longer than its column, or is not JSON; the same on every backend.

    Attributes
    ----------
    field : str or None
        What the value was given as (``"custom_fields['a']"``, ``"set name"``).
    """

    def __init__(self, message: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidId(InvalidValue):
    """An artifact, set or blob id is not well formed.

    Ids are validated before they reach any storage, so a hostile id such as
    ``"../../etc/passwd"`` never turns into a file access.
    """


class AmbiguousId(InvalidId):
    """An id prefix that more than one artifact (or set) id starts with.

    The message lists candidates (the first few, and how many more).

    Attributes
    ----------
    prefix : str
        The prefix given.
    candidates : list of str
        The full ids found that start with it (up to the number looked up).
    """

    def __init__(self, message: str, prefix: str = "", candidates: list[str] | None = None):
        super().__init__(message, field="id")
        self.prefix = prefix
        self.candidates = list(candidates or [])


class NotFound(ProvenanceError, KeyError):
    """Something looked up by key does not exist."""

    def __str__(self) -> str:
        # KeyError.__str__ quotes its argument; a sentence reads better.
        return str(self.args[0]) if self.args else ""


class ArtifactNotFound(NotFound):
    """No artifact with the given id is in the repository."""


class BlobNotFound(NotFound):
    """The blobstore holds no blob under the given key."""


class SetNotFound(NotFound):
    """No artifact set with the given id, name or labels exists."""


class RepoNotFound(NotFound):
    """No repository with the given name is configured."""


class MetaflowNotFound(NotFound):
    """The client view found no flow, run, step, task or data artifact at a pathspec.

    A ``KeyError`` too, as Metaflow's ``obj['child']`` promises.
    """


class HashingError(ProvenanceError, TypeError):
    """A value could not be hashed canonically."""


class SerializationError(ProvenanceError):
    """A value could not be serialized or deserialized."""


class UnknownSerializer(SerializationError, ValueError):
    """A serializer name was used that nobody registered."""


class ImpureFunctionError(ProvenanceError):
    """A decorated function modified one of its input artifacts in place."""


class MutatedArtifactValueError(ProvenanceError):
    """An artifact proxy passed to a call no longer holds the value its id stands for.

    Raised instead of a warning under ``set_check_mutations(True)``; the message
    names the argument and the artifact.
    """


class NotAProxyError(ProvenanceError, ValueError, TypeError):
    """An argument that :func:`~provenance.ensure_proxies` requires to be a proxy is not.

    A ``ValueError``, as in the original library, and a ``TypeError``, as the
    kind of mistake it is.
    """


class PermissionDenied(ProvenanceError, PermissionError):
    """A repository or blobstore was asked to do what its flags forbid.

    Also raised when a repo configured to write cannot: its index or its
    blobstore is read-only for this user (another user's files, a read-only
    mount).  The message names the repo or store and the reason.
    """


class UntrustedValue(ProvenanceError, PermissionError):
    """A value or recorded inputs whose loading could run code, in a repo that is not trusted.

    Raised instead of unpickling: a pickle (``joblib``, ``cloudpickle``, the
    recorded inputs) runs whatever its writer put in it.  The message names
    the artifact, its serializer and the repo, and how to trust the repo
    (``trusted: true``).  Not a :class:`PermissionDenied`: nothing about the
    repo's read/write/delete flags is wrong, and code that falls back on a
    missing permission must not fall back here.
    """


class StorageError(ProvenanceError):
    """The index or the blobstore failed: damaged, unreachable or full.

    The message names the file, directory or server (a URL without its
    password); the driver's or the operating system's exception is chained
    as ``__cause__``.
    """


class CorruptBlob(StorageError):
    """Bytes read back from a blobstore do not match their recorded hash."""


class IndexDamaged(StorageError):
    """The index database file is damaged: zero-length beside stored blobs, or malformed.

    Nothing is written to a damaged index, and ``gc`` never runs on one (its
    blobs would all look unreferenced).  Restore the file from a backup.
    """


class IndexUnavailable(StorageError, ConnectionError):
    """The index database server cannot be reached (down, restarting, unreachable)."""


class StorageFull(StorageError, OSError):
    """No space is left on the device where a value or an index row is written.

    An ``OSError`` too, with ``errno`` ``ENOSPC`` and ``filename`` the path.
    """

    def __str__(self) -> str:
        return str(self.strerror) if self.strerror else super().__str__()


class SchemaError(ProvenanceError):
    """The index database cannot be used with this version of the library."""


class SchemaOutdated(SchemaError):
    """The index schema is older than this library; it must be migrated."""


class MissingDependency(ProvenanceError, ImportError):
    """An optional dependency is missing; the message says which extra to install."""


class FlowError(ProvenanceError):
    """A :class:`~provenance.flow.FlowSpec` flow that cannot run, or a step that misuses it.

    Raised before any step runs for a graph that is not valid (no ``start``
    or ``end``, a transition to something that is not a step, a join with
    the wrong arity, a step nothing reaches); the message names the step.
    """


class MergeArtifactsException(FlowError):
    """``merge_artifacts`` found artifacts whose values differ between the inputs of a join.

    Attributes
    ----------
    artifact_names : list of str
        The conflicting names (Metaflow's attribute).
    """

    def __init__(self, message: str, artifact_names: list[str]) -> None:
        super().__init__(message)
        self.artifact_names = list(artifact_names)


class ClientError(ProvenanceError):
    """An error of the Metaflow-style client view (:mod:`provenance.client`)."""


class MetaflowInvalidPathspec(ClientError, InvalidValue):
    """A pathspec is not ``Flow[/run[/step[/task[/artifact]]]]`` as the class expects."""


class MetaflowNamespaceMismatch(ClientError):
    """The object exists but is outside the current namespace (see ``namespace()``)."""


class MetaflowTaggingError(ClientError, InvalidValue):
    """A tag is empty, not a string, too long, holds a NUL, or is a system tag being removed."""


def require(module: str, extra: str, feature: str):
    """Import an optional dependency, or explain which extra provides it.

    Parameters
    ----------
    module : str
        The module to import, e.g. ``"boto3"``.
    extra : str
        The ``provenance`` extra that installs it, e.g. ``"s3"``.
    feature : str
        What the user was trying to do, for the message.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{feature} needs the '{module}' package; install it with "
            f"`pip install 'provenance[{extra}]'`"
        ) from exc


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or a broken entry
        return False


def require_installed(module: str, extra: str, feature: str) -> None:
    """Check that an optional dependency is installed, without importing it.

    For the checks made when a config is loaded: finding a package costs a
    directory lookup, while importing boto3 costs a fifth of a second that a
    process which never touches the store should not pay.  Parameters as
    :func:`require`.

    Raises
    ------
    MissingDependency
        Naming the extra to install.
    """
    if not is_installed(module):
        raise MissingDependency(
            f"{feature} needs the '{module}' package; install it with "
            f"`pip install 'provenance[{extra}]'`"
        )


# -- warnings ------------------------------------------------------------------


class ProvenanceWarning(UserWarning):
    """The root of the warnings ``provenance`` issues."""


class ArtifactNameWarning(ProvenanceWarning):
    """Two decorated functions share an artifact name (give one of them ``name=``)."""


class CodeChangedWarning(ProvenanceWarning):
    """A cache hit's value was computed by code other than the current one.

    Issued once per function per process for functions decorated with
    ``version=``: the version, not the code, identifies their results.
    """


class MutatedArtifactValueWarning(ProvenanceWarning):
    """An artifact proxy passed to a call holds a value changed since it was made.

    The call uses the changed value as a new plain value (a new id, no lineage).
    """


class PathArgumentWarning(ProvenanceWarning):
    """A ``str`` argument names an existing file, whose contents are not part of the id.

    Pass :class:`provenance.File` to identify a file by its contents.
    """


class SerializerFallbackWarning(ProvenanceWarning):
    """A value's type has a serializer whose package is missing: the default is used.

    Issued once per process, e.g. when a DataFrame is stored without pyarrow
    installed (``pip install 'provenance[pandas]'`` installs it).
    """


class UnstorableValueWarning(ProvenanceWarning):
    """A function's value cannot be hashed or serialized: it is returned, not stored.

    The message names the function and the part of the value to blame (a
    lock, a generator, a module...).  The function runs again on the next call.
    """
