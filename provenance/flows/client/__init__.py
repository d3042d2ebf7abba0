"""A Metaflow-style client view of what ``@provenance`` recorded.

The objects follow Metaflow's client API, addressed by *pathspec*::

    Metaflow()                                   every flow
    Flow('TrainFlow')                            the runs of a flow
    Run('TrainFlow/3')                           the steps of a run
    Step('TrainFlow/3/train')                    the tasks of a step
    Task('TrainFlow/3/train/1')                  one call
    DataArtifact('TrainFlow/3/train/1/train')    one output of the call

A *run* groups the decorated calls of one execution (``provenance.run(...)``
or the implicit run of a process), a *step* is a decorated function called in
the run, a *task* one call of it (cache hits included), and a task's data
artifacts are its outputs.  Everything is read from the index of the repo
selected with :func:`metadata` (the default repo unless told otherwise); values
are loaded only when ``.data`` is read.

Only runs in the current namespace (:func:`namespace`, by default
``user:<you>``) can be reached; ``namespace(None)`` shows everything.

The modules, each importing only those listed before it:

- :mod:`.names`: a step's or data artifact's id, its name quoted
  (:func:`quote_name`, ``models/train`` is ``models%2Ftrain``) and back
  (:func:`unquote_name`);
- :mod:`.namespaces`: the namespace and metadata provider in effect (the
  process-wide selection state) and the repo they select;
- the SELECTs the objects run are storage's: :mod:`provenance.storage.run_queries`;
- reading and changing a run's tags is storage's: :mod:`provenance.storage.runs`;
- :mod:`.data`: :class:`MetaflowData`, :class:`MetaflowArtifacts`, :class:`TaskException`;
- :mod:`.base`: :class:`MetaflowObject`, what every level shares;
- :mod:`.objects`: the levels, :class:`Metaflow` down to :class:`DataArtifact`.
"""

from __future__ import annotations

from .base import MetaflowObject
from .data import FlowCode, MetaflowArtifacts, MetaflowCode, MetaflowData, TaskException
from .names import quote_name, unquote_name
from .namespaces import (
    default_metadata,
    default_namespace,
    get_metadata,
    get_namespace,
    metadata,
    namespace,
)
from .objects import DataArtifact, Flow, Metaflow, Run, Step, Task

__all__ = [
    "DataArtifact",
    "Flow",
    "FlowCode",
    "Metaflow",
    "MetaflowArtifacts",
    "MetaflowCode",
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
    "quote_name",
    "unquote_name",
]
