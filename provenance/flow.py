"""Metaflow's flow API over the provenance store: ``from provenance.flow import FlowSpec, step``.

The public import path; the flow machinery lives in :mod:`provenance.flows`
(``spec``, ``graph``, ``execute``, ``command``).  A flow written for
Metaflow runs with only its import line changed, and every step is
memoized: an unchanged step with unchanged inputs never runs twice, in any
run, by anyone sharing the repository.
"""

from .errors import FlowError, MergeArtifactsException
from .flows import command as _command  # noqa: F401  (MyFlow() runs its command line)
from .flows.execute import FlowRun, run_flow
from .flows.spec import FlowSpec, IncludeFile, JSONType, Parameter, current, step

__all__ = [
    "FlowError",
    "FlowRun",
    "FlowSpec",
    "IncludeFile",
    "JSONType",
    "MergeArtifactsException",
    "Parameter",
    "current",
    "run_flow",
    "step",
]
