"""Take the screenshots of ``ui.rst`` from the real web view, at every build.

At ``builder-inited`` the pipeline of ``examples/lineage_pipeline.py`` is run
in a throwaway repository (in the build's doctree directory), its web view
is served by uvicorn on 127.0.0.1 in a thread
(:func:`provenance.ui.server.serve_in_thread`), and headless Chromium,
driven by Playwright, saves the artifacts list and the final artifact's page
as ``_generated/ui-artifacts.png`` and ``_generated/ui-artifact.png``.  The
pictures are therefore always of the current code.  It needs the ``ui``
extra, Playwright and Chromium (``scripts/docs`` installs them).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from lineage_picture import example_repo
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

OUTPUTS = {"list": os.path.join("_generated", "ui-artifacts.png"),
           "artifact": os.path.join("_generated", "ui-artifact.png")}  # fmt: skip
TOKEN = "docs-build-token-0123456789"


def take(srcdir: str, workdir: str) -> list[str]:
    """Run the example, serve its repository and save the screenshots; their paths."""
    from playwright.sync_api import sync_playwright

    import provenance as p
    from provenance.ui.server import serve_in_thread

    example, repo = example_repo(srcdir, workdir)
    with p.using_repo(repo):
        score = example.run_pipeline()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("the ui screenshots need Chromium: apt-get install chromium")
    server, base = serve_in_thread(repo, TOKEN)
    outs = {key: os.path.join(srcdir, path) for key, path in OUTPUTS.items()}
    os.makedirs(os.path.dirname(outs["list"]), exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 560})
            page.goto(f"{base}/?token={TOKEN}")
            page.screenshot(path=outs["list"])
            page.set_viewport_size({"width": 1100, "height": 1000})
            page.goto(f"{base}/artifacts/{score.artifact.id}")
            page.wait_for_selector("#lineage svg")
            page.wait_for_selector("#preview pre")
            page.screenshot(path=outs["artifact"])
            browser.close()
    finally:
        server.should_exit = True
    return list(outs.values())


def _on_builder_inited(app: Sphinx) -> None:
    outs = take(app.srcdir, os.path.join(app.doctreedir, "ui-example"))
    logger.info("ui screenshots taken: %s", ", ".join(os.path.relpath(o, app.srcdir) for o in outs))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
