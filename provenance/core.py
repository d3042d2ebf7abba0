"""The decorator and its errors, at the import path of the original library.

A thin re-export for code written for the original ``provenance``, which
defined them in ``provenance.core``; new code can import from ``provenance``
itself.
"""

from .archive import ArchivedFile, archive_file
from .decorator import ensure_proxies, provenance
from .errors import ImpureFunctionError, MutatedArtifactValueError
from .runinfo import get_run_info as run_info
from .verbs.promote import promote
from .verbs.sets import provenance_set

__all__ = [
    "ArchivedFile",
    "ImpureFunctionError",
    "MutatedArtifactValueError",
    "archive_file",
    "ensure_proxies",
    "promote",
    "provenance",
    "provenance_set",
    "run_info",
]
