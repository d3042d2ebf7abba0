"""The notebook cards of artifacts, composites, sets, captures and lineage graphs.

Made from real artifacts in the test's SQLite repository; the lineage
picture is drawn by the real ``dot`` (skipped where graphviz is missing).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from typing import Any

import pytest

import provenance as p
from provenance.display import artifact_html, set_html
from provenance.display.picture import MAX_NODES

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not on PATH")


@p.provenance()
def load(n: int) -> list[int]:
    return list(range(n))


@p.provenance(returns_composite=True)
def split(xs: list[int]) -> dict[str, Any]:
    return {"head": xs[:2], "tail": xs[2:]}


@p.provenance()
def total(xs: list[int], scale: float = 1.0) -> float:
    return sum(xs) * scale


@p.provenance()
def step(x: int) -> int:
    return x + 1


def _one_line(text: str) -> None:
    assert "\n" not in text and "object at 0x" not in text, text


def test_an_artifact_card_says_what_it_is_and_links_its_inputs_by_short_id() -> None:
    xs = load(5)
    result = total(xs, scale=2.0)
    parent, artifact = xs.artifact, result.artifact
    html = artifact._repr_html_()
    assert f'id="prov-{artifact.id[:8]}"' in html
    assert f"<code>{artifact.id}</code>" in html
    for shown in ("test_cards.total", "v0", "(json)", "<code>scale</code>", "<code>2.0</code>"):
        assert shown in html
    assert re.search(r"size</th><td>\d+ B", html)
    # The input is a link to the parent's card, which carries that anchor.
    assert f'<a href="#prov-{parent.id[:8]}" title="{parent.id}">test_cards.load' in html
    assert f'id="prov-{parent.id[:8]}"' in parent._repr_html_()


def test_a_card_loads_no_value() -> None:
    result = total(load(3))
    fresh = p.get_default_repo().get_artifact(result.artifact.id)
    fresh._repr_html_()
    assert not fresh.value_loaded


@needs_dot
def test_a_small_lineage_is_drawn_as_inline_svg_linking_to_the_cards() -> None:
    xs = load(4)
    result = total(xs)
    html = result.artifact._repr_html_()
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "<?xml" not in html and "DOCTYPE" not in html
    assert f'xlink:href="#prov-{xs.artifact.id[:8]}"' in svg
    assert "test_cards.load" in svg and "test_cards.total" in svg
    assert ">xs<" in svg  # the edge is labelled by parameter


def test_without_dot_the_card_has_no_picture(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    result = total(load(4))
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH where no dot is found
    html = result.artifact._repr_html_()
    assert "<svg" not in html and "test_cards.total" in html


@needs_dot
def test_a_large_lineage_is_not_drawn() -> None:
    x: Any = 0
    for _ in range(MAX_NODES + 2):
        x = step(x)
    html = x.artifact._repr_html_()
    assert "<svg" not in html
    assert f"more than {MAX_NODES} artifacts upstream" in html
    # A small one nearby still is.
    assert "<svg" in step(step(100)).artifact._repr_html_()


def test_names_labels_and_values_are_escaped() -> None:
    evil = "<script>alert(1)</script>"

    @p.provenance(name=evil)
    def named(text: str) -> str:
        return text

    made = named(evil)
    html = made.artifact._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    saved = p.create_set([made], labels={"name": evil, "note": evil})
    set_card = saved._repr_html_()
    assert "<script>" not in set_card and "&lt;script&gt;" in set_card
    _one_line(repr(made.artifact))
    _one_line(repr(saved))


@needs_dot
def test_names_are_escaped_in_the_picture_too() -> None:
    @p.provenance(name='<script>x</script>"\\N')
    def odd(x: Any) -> Any:
        return x

    html = odd(load(2)).artifact._repr_html_()
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg


def test_a_composite_card_lists_each_key_with_its_artifact() -> None:
    parts = split(load(5))
    html = parts._repr_html_()
    assert 'class="prov-kind">CompositeDict' in html
    for key in ("head", "tail"):
        member = parts.member_ids[key]
        assert f"<td>{key}</td>" in html and f'href="#prov-{member[:8]}"' in html
    assert not parts._values  # no member was loaded to show them
    _one_line(repr(parts))


def test_a_set_card_lists_its_members_with_sizes_from_the_index() -> None:
    a, b = load(2), load(3)
    saved = p.create_set([a, b], labels="pair")
    html = saved._repr_html_()
    assert "<b>pair</b> (2 artifacts)" in html
    assert f'href="#prov-{a.artifact.id[:8]}"' in html and "test_cards.load" in html
    assert re.search(r"<td>\d+ B</td>", html)
    unsaved = p.ArtifactSet([a.artifact.id])
    assert "not saved" in set_html(unsaved) and "not in the repo" not in set_html(unsaved)
    assert "none" in p.ArtifactSet([])._repr_html_()


def test_a_set_of_many_lists_the_first_and_counts_the_rest() -> None:
    made = [load(n) for n in range(35)]
    html = p.create_set(made, labels="many")._repr_html_()
    assert "and 5 more" in html


def test_a_capture_shows_what_it_has_so_far_then_the_saved_set() -> None:
    with p.capture_set("captured") as capture:
        load(7)
        during = capture._repr_html_()
        assert "1 artifact so far" in during
        _one_line(repr(capture))
        assert "capturing, 1 artifacts so far" in repr(capture)
    after = capture._repr_html_()
    assert "<b>captured</b> (1 artifact)" in after
    assert repr(capture) == f"<provenance.SetCapture saved {capture[0]!r}>"


def test_a_lineage_graph_shows_itself_and_has_a_one_line_repr() -> None:
    pytest.importorskip("networkx")
    xs = load(6)
    result = total(xs)
    graph = p.lineage_graph(result)
    assert repr(graph) == (
        f"<provenance.LineageGraph upstream of test_cards.total {result.artifact.id}: "
        "2 artifacts, 1 edge>"
    )
    html = graph._repr_html_()
    assert "upstream of <b>test_cards.total</b>" in html
    # Inputs first, each row linking to its inputs.
    assert html.index("test_cards.load") < html.index("test_cards.total <code>")
    assert f'<code>xs</code>=<a href="#prov-{xs.artifact.id[:8]}"' in html
    if shutil.which("dot"):
        assert "<svg" in html


def test_a_card_that_cannot_be_made_shows_the_plain_repr_and_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    xs = load(2)
    result = total(xs)
    repo = result.artifact.repo

    def gone(ids: Any) -> Any:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(repo, "get_artifacts", gone)
    html = artifact_html(result.artifact)
    assert repr(result.artifact).replace("<", "&lt;").replace(">", "&gt;") in html
    assert "OperationalError: unable to open database file" in html


def test_text_is_escaped_as_the_standard_library_escapes() -> None:
    import html

    from provenance.display.html import text

    for value in ("<script>alert('x')</script>", 'a "b" & c', "plain", 12):
        assert text(value) == html.escape(str(value), quote=True)


def test_a_name_with_a_line_break_keeps_the_repr_on_one_line() -> None:
    @p.provenance(name="two\nlines")
    def named(x: int) -> int:
        return x

    artifact = named(1).artifact
    assert repr(artifact) == f"<provenance.Artifact {artifact.id} two lines v0>"
