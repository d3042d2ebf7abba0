"""The client view of runs, steps and tasks: Metaflow's client API over a repository.

The public import path, as ``metaflow`` is for Metaflow's client: the
classes live in :mod:`provenance.flows.client`.
"""

from .errors import (
    MetaflowInvalidPathspec,
    MetaflowNamespaceMismatch,
    MetaflowNotFound,
    MetaflowTaggingError,
)
from .flows.client import (
    DataArtifact,
    Flow,
    Metaflow,
    MetaflowArtifacts,
    MetaflowData,
    MetaflowObject,
    Run,
    Step,
    Task,
    TaskException,
    default_metadata,
    default_namespace,
    get_metadata,
    get_namespace,
    metadata,
    namespace,
)

__all__ = [
    "MetaflowInvalidPathspec",
    "MetaflowNamespaceMismatch",
    "MetaflowNotFound",
    "MetaflowTaggingError",
    "DataArtifact",
    "Flow",
    "Metaflow",
    "MetaflowArtifacts",
    "MetaflowData",
    "MetaflowObject",
    "Run",
    "Step",
    "Task",
    "TaskException",
    "default_metadata",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "metadata",
    "namespace",
]
