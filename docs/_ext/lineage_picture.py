"""Draw the lineage picture of the docs from a real run of a small pipeline.

At ``builder-inited`` the pipeline in ``docs/examples/lineage_pipeline.py`` is
run against a throwaway repository (SQLite index and disk blobstore in the
build's doctree directory), and :func:`provenance.visualize_lineage` of its final
artifact is rendered with graphviz ``dot`` into ``docs/_generated/lineage.svg``,
which ``lineage.rst`` shows.  Nothing is read from or written to the user's
own repository.
"""

from __future__ import annotations

import importlib.util
import logging as std_logging
import os
import shutil
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

EXAMPLE = os.path.join("examples", "lineage_pipeline.py")
OUTPUT = os.path.join("_generated", "lineage.svg")


def _load_example(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("lineage_pipeline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_repo(srcdir: str, workdir: str) -> tuple[Any, Any]:
    """The example pipeline's module and a fresh repo under ``workdir`` to run it in.

    The repo is emptied first, so every build really runs the pipeline.  It
    is left in place afterwards (inside the build directory): the library
    may still write bookkeeping into it when the process exits.  The other
    pictures of the docs (the notebook cards, the web view) use it too.
    """
    import provenance as p

    example = _load_example(os.path.join(srcdir, EXAMPLE))
    # Creating the throwaway index runs the schema migrations: keep their
    # INFO lines out of the build log.
    std_logging.getLogger("alembic").setLevel(std_logging.WARNING)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    config = {
        "blobstores": {"blobs": {"type": "disk", "cachedir": os.path.join(workdir, "blobs")}},
        "artifact_repos": {
            "docs": {"type": "sqlite", "db": os.path.join(workdir, "index.db"), "store": "blobs"}
        },
    }
    return example, p.from_config(config)["repos"]["docs"]


def draw(srcdir: str, workdir: str) -> str:
    """Run the example pipeline in a fresh repo under ``workdir`` and write its lineage SVG."""
    import provenance as p

    example, repo = example_repo(srcdir, workdir)
    with p.using_repo(repo):
        score = example.run_pipeline()
        svg = p.visualize_lineage(score).pipe(format="svg")
    out = os.path.join(srcdir, OUTPUT)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as f:
        f.write(svg)
    return out


def _on_builder_inited(app: Sphinx) -> None:
    out = draw(app.srcdir, os.path.join(app.doctreedir, "lineage-example"))
    logger.info("lineage picture drawn: %s", os.path.relpath(out, app.srcdir))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
