"""Lineage drawings, at the import path of the original library.

A thin re-export of :mod:`provenance.verbs.vis`.
"""

from .verbs.vis import visualize_lineage

__all__ = ["visualize_lineage"]
