"""The web view over HTTP: the gate (token, host, read-only), pages, escaping, bad parameters."""

from __future__ import annotations

import re
from typing import Any

Served = Any
MARKUP = "<script>window.__pwned = 1</script>"  # as stored by conftest.py


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
    page = http.get(served.url("/")).text
    ids = re.findall(r'href="/artifacts/([0-9a-f]{32})"', page)
    assert len(ids) == 50
    more = re.search(r'hx-get="(/\?after=[^"]+)"', page)
    assert more is not None
    rest = http.get(served.url(more.group(1).replace("&amp;", "&")), headers={"HX-Request": "true"})
    later = re.findall(r'href="/artifacts/([0-9a-f]{32})"', rest.text)
    assert "<html" not in rest.text  # htmx gets just the rows
    assert len(later) == 63 - 50 and not set(ids) & set(later)
    assert "raw_data" in http.get(served.url("/?q=RAW_")).text
    names = re.findall(r"<td><a [^>]*>([^<]+)</a>", http.get(served.url("/?q=raw")).text)
    assert set(names) == {"raw_data"}
    tagged = http.get(served.url("/?tag=nightly")).text
    assert len(re.findall(r'href="/artifacts/', tagged)) == 50
    assert "No artifacts match" in http.get(served.url("/?name=nothing")).text


def test_an_artifact_page_shows_fields_inputs_task_and_value(served: Served, http: Any) -> None:
    page = http.get(served.url(f"/artifacts/{served.ids['features']}")).text
    assert served.ids["features"] in page
    assert f'href="/artifacts/{served.ids["raw"]}"' in page  # the input, linked
    assert "custom.team" in page and "vision" in page
    assert re.search(r'id="task">[^<]*/features/\d+<', page)
    preview = http.get(served.url(f"/artifacts/{served.ids['features']}/preview")).text
    assert "scaled" in preview


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
