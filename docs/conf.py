"""Sphinx configuration of the provenance documentation.

Build with ``bash scripts/docs`` (warnings are errors).  Local extensions
in ``_ext/``: ``lineage_picture`` runs ``examples/lineage_pipeline.py`` and
draws its lineage with graphviz, ``notebook_cards`` writes the notebook
cards of the same pipeline for ``notebooks.rst``, ``markdown_table`` shows the benchmark
table of ``performance.md`` (written by ``benchmarks/run.py``), and
``public_api`` adds every name of ``provenance.__all__`` that ``api.rst`` does
not document by hand, and ``ui_screenshots`` photographs the web view of the
same pipeline in headless Chromium for ``ui.rst``.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))
sys.path.insert(0, os.path.dirname(HERE))

import provenance  # noqa: E402

project = "provenance"
author = "the provenance authors"
copyright = "the provenance authors"
release = provenance.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "lineage_picture",
    "notebook_cards",
    "markdown_table",
    "public_api",
    "ui_screenshots",
]

# No intersphinx: the docs build offline.
templates_path: list[str] = []
exclude_patterns = ["_build", "_generated", "examples", "Thumbs.db", ".DS_Store"]
root_doc = "index"
source_suffix = {".rst": "restructuredtext"}

# -- autodoc and napoleon (numpydoc-style docstrings) ----------------------------------
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_class_signature = "separated"
autodoc_preserve_defaults = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True
napoleon_preprocess_types = True
# "str or path" in a docstring means a path-like object, not a property named path.
napoleon_type_aliases = {"path": ":class:`os.PathLike`", "path-like": ":class:`os.PathLike`"}

# -- HTML ------------------------------------------------------------------------
html_theme = "furo"
html_title = f"provenance {release}"
html_static_path: list[str] = []
