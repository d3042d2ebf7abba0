"""Pages of the artifact listing on every index: each filter alone and together, by keyset.

Every page is checked against the same listing computed here from the rows
put, so that the indexes that serve the filters (see
``provenance/storage/index/pages.py``) never change what a page holds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from provenance.storage.index import SqlIndex, pages
from tests.storage.test_index import T0, row

pytest_plugins = ["index_backends"]

# Name, function name, tags and custom fields of each artifact, in time order;
# the first four share one time, so their order is by id.
SPECS: list[tuple[str, str, list[str], dict[str, Any]]] = [
    ("train_model", "fit", ["prod"], {"team": "vision", "epochs": 3}),
    ("eval", "score", [], {"team": "nlp"}),
    ("Prep", "Train_helper", ["prod", "old"], {"team": "vision", "epochs": 3.0}),
    ("eval", "score", ["prod"], {"epochs": "3"}),
    ("train_model", "fit", ["old"], {"team": "vision", "gpu": True}),
    ("report", "TRAINING_report", ["prod"], {"team": "vision"}),
    ("train_model", "fit", ["prod"], {"team": "nlp", "gpu": 1}),
    ("eval", "score", [], {}),
    ("x_50%", "fit", ["prod"], {"team": "vision"}),
]


def _fill(index: SqlIndex) -> list[dict[str, Any]]:
    rows = []
    for i, (name, fn_name, tags, custom) in enumerate(SPECS * 3):
        when = T0 + timedelta(seconds=max(0, i - 3))
        r = row(i, name=name, fn_name=fn_name, custom_fields={**custom, "tags": tags},
                computed_at=when)  # fmt: skip
        index.put(r, tags=tags)
        rows.append(r)
    return rows


def _expected(rows: list[dict[str, Any]], **filters: Any) -> list[str]:
    def keep(r: dict[str, Any]) -> bool:
        custom = r["custom_fields"]
        if "name" in filters and r["name"] != filters["name"]:
            return False
        if "contains" in filters:
            text = filters["contains"].lower()
            if text not in r["name"].lower() and text not in r["fn_name"].lower():
                return False
        if "tag" in filters and filters["tag"] not in custom["tags"]:
            return False
        if "field" in filters:
            key, value = filters["field"]
            if key not in custom or _kind(custom[key]) != _kind(value) or custom[key] != value:
                return False
        return True

    kept = sorted((r for r in rows if keep(r)), key=lambda r: r["id"])
    kept.sort(key=lambda r: r["computed_at"], reverse=True)
    return [r["id"] for r in kept]


def _kind(value: Any) -> str:
    """The JSON type: ``true``, ``1`` and ``"1"`` are three."""
    if value is None or isinstance(value, (bool, str)):
        return type(value).__name__
    return "number"


def _walk(index: SqlIndex, size: int, **filters: Any) -> list[str]:
    seen: list[str] = []
    after = None
    while page := index.page(after=after, limit=size, **filters):
        assert len(page) <= size
        seen += [r[0] for r in page]
        after = (page[-1][4], page[-1][0])
    return seen


FILTERS: list[dict[str, Any]] = [
    {},
    {"contains": "train"},  # names and function names, any case
    {"contains": "TRAIN", "tag": "prod"},
    {"contains": "_50%"},  # LIKE's wildcards match themselves
    {"contains": "score", "name": "eval"},
    {"contains": "nothing-holds-this"},
    {"tag": "prod"},
    {"tag": "old", "name": "train_model"},
    {"tag": "absent"},
    {"field": ("team", "vision")},
    {"field": ("epochs", 3)},  # 3.0 is 3; "3" is not
    {"field": ("epochs", "3")},
    {"field": ("gpu", True)},  # 1 is not true
    {"field": ("gpu", 1)},
    {"field": ("team", "vision"), "tag": "prod"},
    {"field": ("team", "vision"), "tag": "old", "contains": "train"},
    {"field": ("missing", "x")},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_every_page_holds_what_the_filters_select(index: SqlIndex, filters: Any) -> None:
    rows = _fill(index)
    expected = _expected(rows, **filters)
    assert [r[0] for r in index.page(limit=100, **filters)] == expected
    assert _walk(index, 2, **filters) == expected


def test_a_search_past_the_distinct_names_it_reads_scans_with_the_same_result(
    index: SqlIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _fill(index)
    monkeypatch.setattr(pages, "MAX_NAMES", 2)  # fewer than the repo's names: the scan
    for text in ("train", "nothing-holds-this"):
        assert _walk(index, 3, contains=text) == _expected(rows, contains=text)


def test_replacing_a_row_rewrites_its_tags_and_fields(index: SqlIndex) -> None:
    first = row(1, custom_fields={"k": 1, "tags": ["a"]})
    index.put(first, tags=["a"])
    index.put(row(2, custom_fields={"k": 1}))
    later = T0 + timedelta(hours=1)
    index.put(row(1, custom_fields={"k": 2, "tags": ["b"]}, computed_at=later), tags=["b"],
              replace=True)  # fmt: skip
    assert [r[0] for r in index.page(field=("k", 1))] == [row(2)["id"]]
    assert [(r[0], r[4]) for r in index.page(field=("k", 2))] == [(row(1)["id"], later)]
    assert index.page(tag="a") == []
    assert [r[0] for r in index.page(tag="b")] == [row(1)["id"]]


def test_deleting_artifacts_removes_their_field_and_tag_rows(index: SqlIndex) -> None:
    for i in range(4):
        index.put(row(i, custom_fields={"k": i % 2}), tags=["t"])
    index.delete(row(0)["id"])
    index.delete_many([row(1)["id"], row(2)["id"]])
    assert [r[0] for r in index.page(tag="t")] == [row(3)["id"]]
    left = index.read_rows("SELECT artifact_id FROM artifact_fields")
    assert left == [(row(3)["id"],)]
    assert index.read_rows("SELECT artifact_id FROM artifact_tags") == [(row(3)["id"],)]


def test_only_scalars_of_indexable_keys_get_field_rows(index: SqlIndex) -> None:
    custom = {"n": None, "list": [1], "obj": {"a": 1}, "k" * 300: 1, "ok": "y"}
    index.put(row(1, custom_fields=custom))
    names = index.read_rows("SELECT name FROM artifact_fields ORDER BY name")
    assert names == [("n",), ("ok",)]
    assert [r[0] for r in index.page(field=("n", None))] == [row(1)["id"]]
    assert index.page(field=("ok", "n")) == []
