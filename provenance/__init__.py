"""provenance: content-addressed provenance caching.

Decorate an expensive function with :func:`provenance`; each call is hashed
into an artifact id, computed once, stored in a repository (an SQL index plus
a blobstore) and found again by id, with the lineage of every input artifact.

>>> import provenance as p
>>> @p.provenance()
... def load_data(path, n_rows=None): ...
>>> data = load_data(p.File("iris.csv"))  # doctest: +SKIP
"""

import importlib as _importlib
import importlib.util as _importlib_util
from typing import Any as _Any

from . import _legacy
from ._version import __version__

#: Where each public name is defined.  ``import provenance`` imports none of
#: them: a name is imported on first use (PEP 562), so that a process that
#: only parses a command line, or hits its cache, pays only for what it
#: uses (SQLAlchemy alone takes longer to import than a cache hit's whole
#: process should).
_EXPORTS: dict[str, str | tuple[str, str]] = {
    "ArchivedFile": ".archive",
    "archive_file": ".archive",
    "Artifact": ".artifact",
    "ArtifactProxy": ".artifact",
    "CompositeDict": ".artifact",
    "is_proxy": ".artifact",
    "lazy_dict": ".artifact",
    "lazy_proxy_dict": ".artifact",
    "Config": ".config",
    "current_config": ".config",
    "from_config": ".config",
    "get_check_mutations": ".config",
    "get_code_identity": ".config",
    "get_default_repo": ".config",
    "get_read_only": ".config",
    "get_record_tasks": ".config",
    "get_repo_by_name": ".config",
    "get_use_cache": ".config",
    "load_config": ".config",
    "load_yaml_config": ".config",
    "set_check_mutations": ".config",
    "set_code_identity": ".config",
    "set_default_repo": ".config",
    "set_read_only": ".config",
    "set_record_tasks": ".config",
    "set_use_cache": ".config",
    "using_repo": ".config",
    "ProvenanceFunction": ".decorator",
    "ensure_proxies": ".decorator",
    "provenance": ".decorator",
    "ArtifactNameWarning": ".errors",
    "ArtifactNotFound": ".errors",
    "BlobNotFound": ".errors",
    "CodeChangedWarning": ".errors",
    "ConfigError": ".errors",
    "CorruptBlob": ".errors",
    "HashingError": ".errors",
    "ImpureFunctionError": ".errors",
    "IndexDamaged": ".errors",
    "IndexUnavailable": ".errors",
    "InvalidId": ".errors",
    "AmbiguousId": ".errors",
    "InvalidValue": ".errors",
    "MissingDependency": ".errors",
    "MutatedArtifactValueError": ".errors",
    "MutatedArtifactValueWarning": ".errors",
    "NotAProxyError": ".errors",
    "NotFound": ".errors",
    "PathArgumentWarning": ".errors",
    "PermissionDenied": ".errors",
    "ProvenanceError": ".errors",
    "ProvenanceWarning": ".errors",
    "RepoNotFound": ".errors",
    "SchemaError": ".errors",
    "SchemaOutdated": ".errors",
    "SerializationError": ".errors",
    "SerializerFallbackWarning": ".errors",
    "SetNotFound": ".errors",
    "StorageError": ".errors",
    "StorageFull": ".errors",
    "UnknownSerializer": ".errors",
    "UnstorableValueWarning": ".errors",
    "UntrustedValue": ".errors",
    "File": ".files",
    "CodeFingerprint": ".fingerprint",
    "ActiveRun": ".flows.runs",
    "run": ".flows.runs",
    "hash": ".hashing",
    "hash_value": ".hashing",
    "value_repr": ".hashing",
    "load_artifact": ".loading",
    "load_proxy": ".loading",
    "current_run": ".recording",
    "get_run_info": ".runinfo",
    "set_run_info_fn": ".runinfo",
    "available_serializers": ".serializers",
    "register_serializer": ".serializers",
    "Blobstore": ".storage.blobstores",
    "ChainedStore": ".storage.blobstores",
    "DiskStore": ".storage.blobstores",
    "MemoryStore": ".storage.blobstores",
    "ChainedRepository": ".storage.repos",
    "Repository": ".storage.repos",
    "memory_repo": ".storage.repos",
    "GcReport": ".verbs.gc",
    "gc": ".verbs.gc",
    "dependencies": ".verbs.lineage",
    "export_artifact": ".verbs.export",
    "lineage_graph": ".verbs.lineage",
    "promote": ".verbs.promote",
    "remove_artifacts": ".verbs.remove",
    "ArtifactSet": ".verbs.sets",
    "capture_set": ".verbs.sets",
    "create_set": ".verbs.sets",
    "label_set": ".verbs.sets",
    "load_set_by_id": ".verbs.sets",
    "load_set_by_labels": ".verbs.sets",
    "load_set_by_name": ".verbs.sets",
    "provenance_set": ".verbs.sets",
    "upgrade_schema": ".verbs.upgrade",
    "VerifyReport": ".verbs.verify",
    "verify": ".verbs.verify",
    "visualize_lineage": ".verbs.vis",
    "Explanation": ".why",
}

# The module paths from before the package had wings, and the module each
# moved class reports: every later import goes through them.
_legacy.install()

__all__ = [
    "ActiveRun",
    "AmbiguousId",
    "ArchivedFile",
    "Artifact",
    "ArtifactNameWarning",
    "ArtifactNotFound",
    "ArtifactProxy",
    "ArtifactSet",
    "BlobNotFound",
    "Blobstore",
    "ChainedRepository",
    "ChainedStore",
    "CodeChangedWarning",
    "CodeFingerprint",
    "CompositeDict",
    "Config",
    "ConfigError",
    "CorruptBlob",
    "DiskStore",
    "Explanation",
    "File",
    "GcReport",
    "HashingError",
    "ImpureFunctionError",
    "IndexDamaged",
    "IndexUnavailable",
    "InvalidId",
    "InvalidValue",
    "MemoryStore",
    "MissingDependency",
    "MutatedArtifactValueError",
    "MutatedArtifactValueWarning",
    "NotAProxyError",
    "NotFound",
    "PathArgumentWarning",
    "PermissionDenied",
    "ProvenanceError",
    "ProvenanceFunction",
    "ProvenanceWarning",
    "RepoNotFound",
    "Repository",
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
    "VerifyReport",
    "__version__",
    "archive_file",
    "available_serializers",
    "capture_set",
    "create_set",
    "label_set",
    "current_config",
    "current_run",
    "dependencies",
    "export_artifact",
    "ensure_proxies",
    "from_config",
    "gc",
    "get_check_mutations",
    "get_code_identity",
    "get_default_repo",
    "get_read_only",
    "get_record_tasks",
    "get_repo_by_name",
    "get_run_info",
    "get_use_cache",
    "hash_value",
    "is_proxy",
    "lazy_dict",
    "lazy_proxy_dict",
    "lineage_graph",
    "load_artifact",
    "load_config",
    "load_proxy",
    "load_set_by_id",
    "load_set_by_labels",
    "load_set_by_name",
    "load_yaml_config",
    "memory_repo",
    "promote",
    "provenance",
    "provenance_set",
    "register_serializer",
    "remove_artifacts",
    "run",
    "set_check_mutations",
    "set_code_identity",
    "set_default_repo",
    "set_read_only",
    "set_record_tasks",
    "set_run_info_fn",
    "set_use_cache",
    "upgrade_schema",
    "using_repo",
    "value_repr",
    "verify",
    "visualize_lineage",
]

# ``provenance.hash`` (the original's name) is public but kept out of __all__, so that
# ``from provenance import *`` does not shadow the built-in hash().


def __getattr__(name: str) -> _Any:
    where = _EXPORTS.get(name)
    if where is not None:
        module, attr = (where, name) if isinstance(where, str) else where
        value = getattr(_importlib.import_module(module, __name__), attr)
        globals()[name] = value
        return value
    if not name.startswith("__") and _importlib_util.find_spec(f"{__name__}.{name}") is not None:
        # A submodule not imported yet (``provenance.recording.flush()``).
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
