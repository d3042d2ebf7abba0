"""Show the notebook cards in the docs as a notebook shows them, from a real run.

At ``builder-inited`` the pipeline of ``docs/examples/lineage_pipeline.py``
runs in a run of its own against a throwaway repository (in the build's
doctree directory), and the ``_repr_html_`` of its final artifact and of the
run's task are written to ``docs/_generated/``, which ``notebooks.rst``
includes as raw HTML.  Nothing is read from or written to the user's own
repository.
"""

from __future__ import annotations

import os
from typing import Any

from lineage_picture import example_repo
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

OUTPUTS = {
    "artifact": os.path.join("_generated", "notebook-artifact.html"),
    "task": os.path.join("_generated", "notebook-task.html"),
}


def write_cards(srcdir: str, workdir: str) -> list[str]:
    """Run the example pipeline in a fresh repo under ``workdir`` and write its cards."""
    import provenance as p
    from provenance import client

    example, repo = example_repo(srcdir, workdir)
    with p.using_repo(repo):
        with p.run("Pipeline") as run:
            score = example.run_pipeline()
        cards = {
            "artifact": score.artifact._repr_html_(),
            "task": client.Run(run.pathspec)["evaluate"].task._repr_html_(),
        }
    written = []
    for name, html in cards.items():
        out = os.path.join(srcdir, OUTPUTS[name])
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            f.write(html)
        written.append(out)
    return written


def _on_builder_inited(app: Sphinx) -> None:
    for out in write_cards(app.srcdir, os.path.join(app.doctreedir, "notebook-example")):
        logger.info("notebook card written: %s", os.path.relpath(out, app.srcdir))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
