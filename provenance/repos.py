"""The repositories, at the import path of the original library.

A thin re-export: the classes live in :mod:`provenance.storage.repos` (this
library's) and :mod:`provenance.storage.original_repos` (the original's
constructors), the set functions in :mod:`provenance.verbs.sets`.  Code
written for ``provenance.repos`` keeps working; new code can import from
``provenance`` itself.
"""

from .artifact import Artifact, ArtifactProxy, is_proxy, lazy_dict, lazy_proxy_dict
from .config import (
    Config,
    current_config,
    get_check_mutations,
    get_default_repo,
    get_read_only,
    get_repo_by_name,
    get_use_cache,
    set_check_mutations,
    set_default_repo,
    set_read_only,
    set_use_cache,
    using_repo,
)
from .loading import load_artifact, load_proxy
from .runinfo import set_run_info_fn
from .storage.original_repos import ChainedRepo, DbRepo, MemoryRepo, PostgresRepo
from .storage.proxies import ArtifactProxy as artifact_proxy  # the original's name
from .storage.proxies import transform_value
from .storage.repos import (  # noqa: F401  (see below)
    ChainedRepository,
    Repository,
    artifact_from_spec,
    memory_repo,
    remember_repo,
    repo_from_spec,
)
from .storage.spill import StoredValue
from .verbs.sets import (
    ArtifactSet,
    capture_set,
    create_set,
    label_set,
    load_set_by_id,
    load_set_by_labels,
    load_set_by_name,
)

__all__ = [
    "Artifact",
    "ArtifactProxy",
    "ArtifactSet",
    "ChainedRepo",
    "ChainedRepository",
    "Config",
    "DbRepo",
    "MemoryRepo",
    "PostgresRepo",
    "Repository",
    "StoredValue",
    "artifact_from_spec",
    "artifact_proxy",
    "capture_set",
    "create_set",
    "current_config",
    "get_check_mutations",
    "get_default_repo",
    "get_read_only",
    "get_repo_by_name",
    "get_use_cache",
    "is_proxy",
    "label_set",
    "lazy_dict",
    "lazy_proxy_dict",
    "load_artifact",
    "load_proxy",
    "load_set_by_id",
    "load_set_by_labels",
    "load_set_by_name",
    "memory_repo",
    "remember_repo",
    "repo_from_spec",
    "set_check_mutations",
    "set_default_repo",
    "set_read_only",
    "set_run_info_fn",
    "set_use_cache",
    "transform_value",
    "using_repo",
]
