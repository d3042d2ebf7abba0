"""What :func:`~provenance.lineage_graph` returns: a networkx graph that shows itself.

Imported only once networkx is known to be there (the ``vis`` extra).
"""

from __future__ import annotations

import networkx as nx

from ..display import graph_html
from ..display.html import count, one_line

__all__ = ["LineageGraph"]


class LineageGraph(nx.DiGraph):
    """A :class:`networkx.DiGraph` of lineage, with a one-line ``repr`` and a notebook card.

    ``graph.graph`` holds ``root`` (the artifact id it is the lineage of) and
    ``direction`` (``'upstream'``, ``'downstream'`` or ``'both'``).
    """

    def __repr__(self) -> str:
        root = self.graph.get("root")
        name = self.nodes[root].get("name") if root in self.nodes else None
        of = f" {self.graph.get('direction', '')} of {name} {root}" if root else ""
        return one_line(
            f"<provenance.LineageGraph{of}: {count(self.number_of_nodes(), 'artifact')}, "
            f"{count(self.number_of_edges(), 'edge')}>"
        )

    def _repr_html_(self) -> str:
        """A card for notebooks: the artifacts, inputs first, and a picture when small."""
        return graph_html(self)
