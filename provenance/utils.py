"""Helpers of the original library, at its import path ``provenance.utils``.

A thin re-export; the helpers live in :mod:`provenance.signature`.
"""

from .signature import fn_info, with_merged_defaults

__all__ = ["fn_info", "with_merged_defaults"]
