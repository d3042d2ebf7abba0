"""The web view over HTTP: the gate (token, host, read-only), pages, escaping, bad parameters."""

from __future__ import annotations

import re
from typing import Any

import pytest

# The served repository's fixtures (served, http) are a plugin shared by the
# modules here; its asserts are rewritten as a test module's are.
pytest.register_assert_rewrite("served_repo")
pytest_plugins = ["served_repo"]

from served_repo import MARKUP, Served  # noqa: E402

import provenance as p  # noqa: E402


def test_a_request_without_the_token_is_refused(served: Served, http: Any) -> None:
    for path in ("/", f"/artifacts/{served.ids['model']}", "/static/htmx.min.js"):
        refused = http.get(served.base + path)
        assert refused.status_code == 403
        assert "token is required" in refused.text
    wrong = http.get(served.base + "/?token=" + "x" * len(served.token))
    assert wrong.status_code == 403


def test_the_token_sets_a_cookie_that_later_pages_use(served: Served, http: Any) -> None:
    first = http.get(served.url("/"))
    assert first.status_code == 200
    assert "HttpOnly" in first.headers["set-cookie"]
    assert http.get(served.base + f"/artifacts/{served.ids['raw']}").status_code == 200
    import httpx

    with httpx.Client() as fresh:  # no cookie: the header alone
        assert fresh.get(served.base + "/").status_code == 403
        header = {"Authorization": f"token {served.token}"}
        assert fresh.get(served.base + "/", headers=header).status_code == 200


def test_it_is_read_only_and_answers_only_its_own_host(served: Served, http: Any) -> None:
    assert http.post(served.url("/")).status_code == 405
    assert http.delete(served.url(f"/artifacts/{served.ids['raw']}")).status_code == 405
    # A page on another site that rebinds its name to 127.0.0.1 sends its own Host.
    rebound = http.get(served.url("/"), headers={"Host": "evil.example:80"})
    assert rebound.status_code == 421


def test_the_list_pages_by_keyset_and_filters(served: Served, http: Any) -> None:
    import sqlite3

    with sqlite3.connect(served.config.parent / "index.db") as db:
        total = db.execute("SELECT count(*) FROM artifacts").fetchone()[0]
    assert total > 60
    page = http.get(served.url("/")).text
    seen = re.findall(r'href="/artifacts/([0-9a-f]{32})"', page)
    assert len(seen) == 50
    while more := re.search(r'hx-get="(/\?after=[^"]+)"', page):
        page = http.get(
            served.url(more.group(1).replace("&amp;", "&")), headers={"HX-Request": "true"}
        ).text
        assert "<html" not in page  # htmx gets just the rows
        rows = re.findall(r'href="/artifacts/([0-9a-f]{32})"', page)
        assert 0 < len(rows) <= 50
        seen += rows
    assert len(seen) == len(set(seen)) == total
    assert "raw_data" in http.get(served.url("/?q=RAW_")).text
    names = re.findall(r"<td><a [^>]*>([^<]+)</a>", http.get(served.url("/?q=raw")).text)
    assert set(names) == {"raw_data"}
    tagged = http.get(served.url("/?tag=nightly")).text
    assert len(re.findall(r'href="/artifacts/', tagged)) == 50
    assert "No artifacts match" in http.get(served.url("/?name=nothing")).text
    team = http.get(served.url("/?field=team%3Dvision")).text
    assert re.findall(r'href="/artifacts/([0-9a-f]{32})"', team) == [served.ids["features"]]
    assert "No artifacts match" in http.get(served.url("/?field=team%3Dnlp")).text
    bad = http.get(served.url("/?field=team"))
    assert bad.status_code == 400 and "key=value" in bad.text


def test_an_artifact_page_shows_fields_inputs_task_and_value(served: Served, http: Any) -> None:
    page = http.get(served.url(f"/artifacts/{served.ids['features']}")).text
    assert served.ids["features"] in page
    assert f'href="/artifacts/{served.ids["raw"]}"' in page  # the input, linked
    assert "custom.team" in page and "vision" in page
    assert re.search(r'id="task"><a href="/flows/[^"]+/features/\d+">', page)
    assert re.search(r"<th>size</th><td>\d+ B \(inputs \d+ B\)</td>", page)
    preview = http.get(served.url(f"/artifacts/{served.ids['features']}/preview")).text
    assert "scaled" in preview


def test_markup_in_names_tags_and_fields_is_shown_not_run(served: Served, http: Any) -> None:
    listing = http.get(served.url("/?q=script")).text
    page = http.get(served.url(f"/artifacts/{served.ids['marked']}")).text
    for html in (listing, page):
        assert MARKUP not in html and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert "<b>t</b>" not in page and "&lt;b&gt;t&lt;/b&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    drawing = http.get(served.url(f"/artifacts/{served.ids['marked']}/lineage")).text
    assert "<script>" not in drawing and "&lt;script&gt;" in drawing


def test_markup_in_a_value_is_shown_not_run(served: Served, http: Any) -> None:
    preview = http.get(served.url(f"/artifacts/{served.ids['features']}/preview")).text
    assert MARKUP not in preview
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in preview


def test_the_lineage_is_svg_with_a_link_per_artifact(served: Served, http: Any) -> None:
    drawing = http.get(served.url(f"/artifacts/{served.ids['features']}/lineage?up=3&down=1")).text
    assert "<svg" in drawing and "<?xml" not in drawing
    for key in ("raw", "features", "model"):
        assert f'href="/artifacts/{served.ids[key]}"' in drawing
    upstream_only = http.get(served.url(f"/artifacts/{served.ids['features']}/lineage?down=0"))
    assert served.ids["model"] not in upstream_only.text


def test_bad_parameters_are_named(served: Served, http: Any) -> None:
    bad_id = http.get(served.url("/artifacts/../../etc/passwd"))
    assert bad_id.status_code == 404
    not_hex = http.get(served.url("/artifacts/zzzz"))
    assert not_hex.status_code == 400 and "artifact id" in not_hex.text
    missing = http.get(served.url("/artifacts/" + "0" * 32))
    assert missing.status_code == 404 and "0" * 32 in missing.text
    depth = http.get(served.url(f"/artifacts/{served.ids['raw']}/lineage?up=99"))
    assert depth.status_code == 400 and "up parameter" in depth.text
    cursor = http.get(served.url("/?after=yesterday"))
    assert cursor.status_code == 400 and "after=" in cursor.text


def _node(svg_page: str, node_id: str) -> str:
    """The SVG group of one node (dot escapes '-' in ids as &#45;)."""
    start = svg_page.index(f'<g id="{node_id}"')
    return svg_page[start : svg_page.index("</g>", start)]


def test_flows_runs_steps_and_tasks(served: Served, http: Any) -> None:
    flows = http.get(served.url("/flows")).text
    assert 'href="/flows/ArtFlow"' in flows and 'href="/flows/ArtFlow/3"' in flows
    assert "failed" in flows  # the latest run failed
    runs = http.get(served.url("/flows/ArtFlow")).text
    assert "<th>took</th>" in runs and re.search(r"<td>[\d.]+ (ms|s|µs)</td>", runs)
    assert [m for m in re.findall(r'href="/flows/ArtFlow/(\d+)"', runs)] == ["3", "2", "1"]
    second = http.get(served.url("/flows/ArtFlow/2")).text
    # Every step of the second run was served from the cache: drawn as cached.
    assert second.count('class="status cached"') == 1  # the legend
    assert "stroke-dasharray" in _node(second, "step&#45;middle")
    assert 'href="/flows/ArtFlow/2/middle"' in second
    first = http.get(served.url("/flows/ArtFlow/1")).text
    assert "stroke-dasharray" not in _node(first, "step&#45;middle")  # computed
    step = http.get(served.url("/flows/ArtFlow/1/middle")).text
    task_id = re.search(r'href="/flows/ArtFlow/1/middle/(\d+)"', step)
    assert task_id is not None
    task = http.get(served.url(f"/flows/ArtFlow/1/middle/{task_id.group(1)}")).text
    assert "the data artifact is: [1, 2, 3]" in task
    assert re.search(
        r"<td>some_data</td><td><a class=\"mono\" href=\"/artifacts/[0-9a-f]{32}\"", task
    )
    failed_step = http.get(served.url("/flows/ArtFlow/3/end")).text
    failed_id = re.search(r'href="/flows/ArtFlow/3/end/(\d+)"', failed_step)
    assert failed_id is not None
    failed = http.get(served.url(f"/flows/ArtFlow/3/end/{failed_id.group(1)}")).text
    assert 'id="exception"' in failed and "boom" in failed
    # Markup printed by a step is shown as text.
    ended = http.get(served.url("/flows/ArtFlow/1/end")).text
    end_id = re.search(r'href="/flows/ArtFlow/1/end/(\d+)"', ended)
    assert end_id is not None
    assert (
        "the end &lt;b&gt;bold&lt;/b&gt;"
        in http.get(served.url(f"/flows/ArtFlow/1/end/{end_id.group(1)}")).text
    )
    assert http.get(served.url("/flows/NoSuchFlow")).status_code == 404
    assert http.get(served.url("/flows/ArtFlow/x")).status_code in (400, 404)


def test_a_flow_s_runs_page_by_keyset_with_their_tags(served: Served, http: Any) -> None:
    def numbers(page: str) -> list[int]:
        return [int(m) for m in re.findall(r'href="/flows/Many/(\d+)"', page)]

    first = http.get(served.url("/flows/Many")).text
    assert numbers(first) == list(range(55, 5, -1))
    assert 'href="?before=6"' in first
    older = http.get(served.url("/flows/Many?before=6")).text
    assert numbers(older) == [5, 4, 3, 2, 1] and 'id="more"' not in older
    odd = http.get(served.url("/flows/Many?tag=odd")).text
    assert numbers(odd) == list(range(55, 0, -2))  # 28 runs: one page
    assert http.get(served.url("/flows/Many?tag=odd&before=9")).text.count("/flows/Many/") == 4
    bad = http.get(served.url("/flows/Many?before=x"))
    assert bad.status_code == 400 and "before" in bad.text


def test_a_step_named_with_a_slash_or_a_percent_has_its_page(served: Served, http: Any) -> None:
    # Steps "models/train" and "models%2Ftrain" are ids models%2Ftrain and
    # models%252Ftrain; a link quotes each once more, as the server unquotes.
    run = http.get(served.url("/flows/Slashes/1"))
    assert run.status_code == 200
    steps = {"models%2Ftrain": "models%252Ftrain", "models%252Ftrain": "models%25252Ftrain"}
    for step_id, in_url in steps.items():
        assert f'<a href="/flows/Slashes/1/{in_url}">{step_id}</a>' in run.text
        assert f'xlink:href="/flows/Slashes/1/{in_url}"' in run.text  # the graph's node
        step = http.get(served.url(f"/flows/Slashes/1/{in_url}"))
        assert step.status_code == 200 and f"/ {step_id}</h1>" in step.text
        task_link = re.search(rf'href="(/flows/Slashes/1/{in_url}/\d+)"', step.text)
        assert task_link is not None
        task = http.get(served.url(task_link.group(1)))
        assert task.status_code == 200 and f"<td>{step_id}</td>" in task.text
        assert f'href="/flows/Slashes/1/{in_url}">' in task.text  # up to the step
    for key, in_url in (("slashed", "models%252Ftrain"), ("percent", "models%25252Ftrain")):
        page = http.get(served.url(f"/artifacts/{served.ids[key]}")).text
        assert re.search(rf'id="task"><a href="/flows/Slashes/1/{in_url}/\d+">', page)
    listed = http.get(served.url("/?q=models")).text
    assert re.search(r'href="/flows/Slashes/1/models%252Ftrain/\d+"', listed)
    # Unquoted by the server, the slash splits the step: no step has that name.
    assert http.get(served.url("/flows/Slashes/1/models%2Ftrain")).status_code in (400, 404)


def test_sets_members_and_algebra(served: Served, http: Any) -> None:
    listing = http.get(served.url("/sets")).text
    assert f'href="/sets/{served.ids["small_set"]}"' in listing and "big" in listing
    one = http.get(served.url(f"/sets/{served.ids['small_set']}")).text
    assert f'href="/artifacts/{served.ids["raw"]}"' in one
    assert f'href="/artifacts/{served.ids["features"]}"' in one
    a, b = served.ids["small_set"], served.ids["big_set"]
    both = http.get(served.url(f"/sets?a={a}&op=intersection&b={b}")).text
    assert "small intersection big: 1 artifact<" in both
    assert f'href="/artifacts/{served.ids["raw"]}"' in both.split('id="result-title"')[1]
    union = http.get(served.url(f"/sets?a={a}&op=union&b={b}")).text
    assert "small union big: 3 artifacts" in union
    bad = http.get(served.url(f"/sets?a={a}&op=xor&b={b}"))
    assert bad.status_code == 400 and "op parameter" in bad.text


def test_compare_with_and_the_function_source(served: Served, http: Any) -> None:
    page = http.get(served.url(f"/artifacts/{served.ids['raw']}")).text
    # The other calls of the same name are offered, and the stored source shown.
    assert f'<option value="{served.ids["raw_other"]}">' in page
    assert 'id="source">' in page and "return list(range(n))" in page
    compared = http.get(served.url(f"/compare?a={served.ids['raw']}&b={served.ids['raw_other']}"))
    assert compared.status_code == 200
    assert re.search(
        r"<td>argument &#39;n&#39;</td><td><code>5</code></td><td><code>159</code>", compared.text
    )
    same = http.get(served.url(f"/compare?a={served.ids['raw']}&b={served.ids['raw']}")).text
    assert "Nothing that identifies a call differs." in same
    assert http.get(served.url(f"/compare?a={served.ids['raw']}")).status_code == 400


def test_the_command_without_the_ui_extra_says_what_to_install(served: Served) -> None:
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['uvicorn'] = None\n"  # as if the extra were not installed
        "from provenance.cli import main\n"
        f"sys.exit(main(['--config', {str(served.config)!r}, 'ui', '--port', '0']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode != 0
    assert "pip install 'provenance[ui]'" in done.stderr and "Traceback" not in done.stderr


@p.provenance(name="ui.parent")
def parent(n: int) -> list[int]:
    return list(range(n))


@p.provenance(name="ui.child")
def child(data: list[int]) -> int:
    return sum(data)


def test_a_removed_parent_is_shown_gone_on_its_childs_page(disk_repo: Any, http: Any) -> None:
    from provenance.ui.server import serve_in_thread

    made = child(parent(4))
    gone = made.artifact.input_artifact_ids[0]
    p.remove_artifacts([gone], disk_repo)
    server, base = serve_in_thread(disk_repo, "t" * 32)
    try:
        page = http.get(f"{base}/artifacts/{made.artifact.id}?token={'t' * 32}")
        assert page.status_code == 200
        inputs = page.text.split('id="inputs"', 1)[1].split("</table>", 1)[0]
        assert "gone (removed or evicted)" in inputs and gone[:10] in inputs
        assert f'href="/artifacts/{gone}"' not in inputs  # no link to a page that is not there
        drawing = http.get(f"{base}/artifacts/{made.artifact.id}/lineage?token={'t' * 32}")
        assert drawing.status_code == 200 and ">gone</text>" in drawing.text
    finally:
        server.should_exit = True
