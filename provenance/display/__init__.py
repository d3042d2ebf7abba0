"""How the library's objects show in a notebook: small HTML cards (``_repr_html_``).

Each class's ``_repr_html_`` calls one function here: :mod:`.cards` renders
the records and values of storage and the verbs (artifacts, sets,
composites, captures, lineage graphs), :mod:`.client` the client view's
objects (flows, runs, steps, tasks, data artifacts), over the pieces of
:mod:`.html` (escaped text, a card, short ids, sizes) and the lineage picture
of :mod:`.picture` (graphviz's ``dot``, when on ``PATH``).

The renderers read the objects by their attributes and import nothing of the
package above :mod:`provenance.errors`, so that storage, below the verbs and
the flows, can use them too.  They never load a value (sizes come from the
index rows), list at most :data:`~.html.MAX_ROWS` members, draw a picture only
of a small lineage, and never raise: a renderer that fails shows the plain
``repr`` and why (a repr that raises breaks the notebook's output).
"""

from .cards import artifact_html, capture_html, composite_html, graph_html, set_html
from .client import client_html

__all__ = [
    "artifact_html",
    "capture_html",
    "client_html",
    "composite_html",
    "graph_html",
    "set_html",
]
