"""The web view in a real browser: headless Chromium (the distribution's) driven by Playwright.

A user opens the URL ``provenance ui`` printed, searches the list, opens an
artifact, clicks a node of its lineage drawing and lands on that artifact's
page.  Each step asserts on what the page shows; screenshots go to
``$PROVENANCE_SCREENSHOTS`` (default ``build/screenshots``) as test artifacts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is missing (apt-get install chromium)"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz dot is not installed"),
]
ROOT = Path(__file__).resolve().parents[2]
#: The served repository's fixtures (served, http), shared by the modules here.
pytest_plugins = ["served_repo"]
SHOTS = Path(os.environ.get("PROVENANCE_SCREENSHOTS", ROOT / "build" / "screenshots"))


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        browser.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_user_searches_opens_an_artifact_and_follows_its_lineage(served: Any, page: Any) -> None:
    page.goto(served.url("/"))
    assert page.locator("h1").inner_text() == "Artifacts"
    assert page.locator("#artifacts tbody tr").count() == 51  # 50 rows and "more…"
    shot(page, "artifacts")
    # "more…" fetches the next page into the table, in place.
    page.click("#more a")
    page.wait_for_function("document.querySelectorAll('#artifacts tbody tr').length > 51")

    page.fill("input[name=q]", "feat")
    page.click("button[type=submit]")
    rows = page.locator("#artifacts tbody tr")
    assert rows.count() == 1 and "features" in rows.inner_text()

    rows.locator("a").first.click()
    page.wait_for_selector("#lineage svg")
    assert served.ids["features"] in page.locator("#fields").inner_text()
    assert "vision" in page.inner_text("#fields")
    page.wait_for_selector("#preview pre")
    # The markup held by the value is text on the page, and never ran.
    assert "<script>window.__pwned = 1</script>" in page.inner_text("#preview")
    assert page.evaluate("window.__pwned === undefined")
    shot(page, "artifact")

    # Downstream depth 0 leaves the model out of the drawing; 1 brings it back.
    page.fill("input[name=down]", "0")
    page.dispatch_event("input[name=down]", "change")
    page.wait_for_function(f"!document.querySelector('#lineage #node-{served.ids['model']}')")
    page.fill("input[name=down]", "1")
    page.dispatch_event("input[name=down]", "change")
    node = page.locator(f"#lineage #node-{served.ids['model']} a")
    node.wait_for()
    node.click()
    page.wait_for_url(f"**/artifacts/{served.ids['model']}")
    assert page.locator("h1").inner_text().startswith("model")
    # The input it was computed from links back.
    assert page.locator(f"#inputs a[href='/artifacts/{served.ids['features']}']").count() == 1
    shot(page, "lineage-followed")


def test_a_user_opens_a_flow_run_and_a_task_s_logs(served: Any, page: Any) -> None:
    page.goto(served.url("/"))
    page.click("header >> text=Flows")
    assert "ArtFlow" in page.inner_text("#flows")
    page.click("#flows a[href='/flows/ArtFlow']")
    page.wait_for_selector("#runs")
    assert page.locator("#runs tbody tr").count() == 3
    page.click("#runs a[href='/flows/ArtFlow/1']")
    page.wait_for_selector("#steps svg")
    shot(page, "run")
    # The step graph's nodes are links: the middle step opens its tasks.
    page.click("#steps #step-middle a")
    page.wait_for_selector("#tasks")
    page.locator("#tasks tbody a").first.click()
    page.wait_for_selector("#stdout")
    assert "the data artifact is: [1, 2, 3]" in page.inner_text("#stdout")
    assert "some_data" in page.inner_text("#data")
    shot(page, "task")


def test_the_browser_without_the_token_is_refused(served: Any, page: Any) -> None:
    context = page.context.browser.new_context()  # no cookie from the other test
    try:
        fresh = context.new_page()
        response = fresh.goto(served.base + "/")
        assert response is not None and response.status == 403
        assert "token is required" in fresh.inner_text("body")
    finally:
        context.close()
