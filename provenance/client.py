"""The client view of runs, steps and tasks: Metaflow's client API over a repository.

The public import path, as ``metaflow`` is for Metaflow's client: the
classes live in :mod:`provenance.flows.client`, whose names are all
re-exported here, with the client's errors.
"""

from .errors import (
    MetaflowInvalidPathspec,
    MetaflowNamespaceMismatch,
    MetaflowNotFound,
    MetaflowTaggingError,
)
from .flows import client as _client
from .flows.client import *  # noqa: F403  (exactly its __all__)

__all__ = [
    "MetaflowInvalidPathspec",
    "MetaflowNamespaceMismatch",
    "MetaflowNotFound",
    "MetaflowTaggingError",
]
__all__ += _client.__all__
