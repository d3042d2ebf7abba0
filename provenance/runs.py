"""Runs and tasks, at the import path they had before the package had wings.

A thin re-export: the recorder of every call's task is
:mod:`provenance.recording`, explicit runs are :mod:`provenance.flows.runs`,
and their SQL is :mod:`provenance.storage.runs`.
"""

from .flows.runs import ActiveRun, run
from .recording import (
    CACHED_TAG,
    FLUSH_AGE,
    FLUSH_COUNT,
    MAX_TAG_LENGTH,
    adopt,
    current_run,
    default_flow_name,
    end_implicit_runs,
    flush,
    implicit_runs,
    record,
    ref_for_workers,
    system_tags,
    validate_tag,
    validate_tags,
)

__all__ = [
    "CACHED_TAG",
    "FLUSH_AGE",
    "FLUSH_COUNT",
    "MAX_TAG_LENGTH",
    "ActiveRun",
    "adopt",
    "current_run",
    "default_flow_name",
    "end_implicit_runs",
    "flush",
    "implicit_runs",
    "record",
    "ref_for_workers",
    "run",
    "system_tags",
    "validate_tag",
    "validate_tags",
]
