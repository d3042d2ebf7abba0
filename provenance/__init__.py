"""provenance: content-addressed provenance caching.

Decorate an expensive function with :func:`provenance`; each call is hashed
into an artifact id, computed once, stored in a repository (an SQL index plus
a blobstore) and found again by id, with the lineage of every input artifact.

>>> import provenance as p
>>> @p.provenance()
... def load_data(path, n_rows=None): ...
>>> data = load_data(p.File("iris.csv"))  # doctest: +SKIP
"""

from ._version import __version__
from .archive import ArchivedFile, archive_file
from .artifact import (
    Artifact,
    ArtifactProxy,
    CompositeDict,
    is_proxy,
    lazy_dict,
    lazy_proxy_dict,
)
from .config import (
    Config,
    current_config,
    from_config,
    get_check_mutations,
    get_code_identity,
    get_default_repo,
    get_read_only,
    get_record_tasks,
    get_repo_by_name,
    get_use_cache,
    load_config,
    load_yaml_config,
    set_check_mutations,
    set_code_identity,
    set_default_repo,
    set_read_only,
    set_record_tasks,
    set_use_cache,
    using_repo,
)
from .decorator import ProvenanceFunction, ensure_proxies, provenance
from .errors import (
    ArtifactNameWarning,
    ArtifactNotFound,
    BlobNotFound,
    CodeChangedWarning,
    ConfigError,
    CorruptBlob,
    HashingError,
    ImpureFunctionError,
    IndexDamaged,
    IndexUnavailable,
    InvalidId,
    InvalidValue,
    MissingDependency,
    MutatedArtifactValueError,
    MutatedArtifactValueWarning,
    NotAProxyError,
    NotFound,
    PathArgumentWarning,
    PermissionDenied,
    ProvenanceError,
    ProvenanceWarning,
    RepoNotFound,
    SchemaError,
    SchemaOutdated,
    SerializationError,
    SerializerFallbackWarning,
    SetNotFound,
    StorageError,
    StorageFull,
    UnknownSerializer,
    UntrustedValue,
)
from .files import File
from .fingerprint import CodeFingerprint
from .flows.runs import ActiveRun, run
from .hashing import hash as hash  # noqa: A004  (the original's name; not in __all__)
from .hashing import hash_value, value_repr
from .loading import load_artifact, load_proxy
from .recording import current_run
from .runinfo import get_run_info, set_run_info_fn
from .serializers import available_serializers, register_serializer
from .storage.blobstores import Blobstore, ChainedStore, DiskStore, MemoryStore
from .storage.repos import ChainedRepository, Repository, memory_repo
from .verbs.gc import GcReport, gc
from .verbs.lineage import dependencies, lineage_graph
from .verbs.promote import promote
from .verbs.sets import (
    ArtifactSet,
    capture_set,
    create_set,
    label_set,
    load_set_by_id,
    load_set_by_labels,
    load_set_by_name,
    provenance_set,
)
from .verbs.upgrade import upgrade_schema
from .verbs.verify import VerifyReport, verify
from .verbs.vis import visualize_lineage
from .why import Explanation

__all__ = [
    "ActiveRun",
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

# Last, once everything is imported: the module paths from before the
# package had wings (see provenance._legacy).
from ._legacy import install as _install_legacy_paths  # noqa: E402

_install_legacy_paths()
del _install_legacy_paths
