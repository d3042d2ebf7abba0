"""What the index stores or looks up is validated before anything runs, alike on every backend.

Each refused value is a :class:`provenance.InvalidValue` that names the
field; the user's function (or block) has not run and nothing was stored.
The ``repo`` fixture runs each test on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

import provenance as p
from provenance import client
from provenance.errors import ClientError, MetaflowInvalidPathspec, MetaflowTaggingError
from provenance.storage.models import RunRow, SetRow
from provenance.storage.validate import (
    MAX_JSON_BYTES,
    QUOTE,
    check_json,
    check_name,
    check_tags,
    check_text,
    quote,
)

LONG = "x" * 10_000
NUL = "a\x00b"
SURROGATE = "a\ud800b"


def _count(repo: Any, table: Any) -> int:
    with repo.index._connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _nothing_stored(repo: Any) -> None:
    assert repo.index.count() == 0
    assert _count(repo, SetRow) == 0


# -- the checks themselves ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (NUL, "NUL"),
        (SURROGATE, "surrogate"),
        ("x" * 256, "256 characters long; the limit is 255"),
        ("", "must not be empty"),
        (5, "must be a string"),
    ],
)
def test_check_text_refuses_and_names_the_field(value: Any, problem: str) -> None:
    with pytest.raises(p.InvalidValue, match=problem) as info:
        check_text(value, "the widget name")
    assert info.value.field == "the widget name"
    assert str(info.value).startswith("the widget name ")
    assert isinstance(info.value, p.ProvenanceError) and isinstance(info.value, ValueError)


def test_check_text_accepts_what_every_backend_stores() -> None:
    assert check_text("é ü 漢字 🙂", "f") == "é ü 漢字 🙂"
    assert check_text("x" * 255, "f") == "x" * 255
    assert check_text("", "f", empty=True) == ""


def test_messages_quote_at_most_100_characters_of_a_long_value() -> None:
    with pytest.raises(p.InvalidValue) as info:
        check_text(LONG, "the set name")
    message = str(info.value)
    assert "x" * QUOTE in message and "x" * (QUOTE + 1) not in message
    assert "10000 characters" in message
    assert len(message) < 300
    assert quote("short") == "'short'"
    with pytest.raises(p.InvalidValue) as info:
        check_text(LONG + "\x00", "f", 20_000)
    assert "x" * (QUOTE + 1) not in str(info.value)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"a": {"b": [1, NUL]}}, "custom_fields['a']['b'][1]"),
        ({"a": float("nan")}, "custom_fields['a']"),
        ({"a": float("inf")}, "custom_fields['a']"),
        ({"a": object()}, "custom_fields['a']"),
        ({NUL: 1}, "a key of custom_fields"),
        ({1: "x"}, "custom_fields"),
        ({"a": SURROGATE}, "custom_fields['a']"),
    ],
)
def test_check_json_names_the_member_at_fault(value: Any, path: str) -> None:
    with pytest.raises(p.InvalidValue) as info:
        check_json(value, "custom_fields")
    assert info.value.field == path


def test_check_json_limits_the_encoded_size_and_refuses_cycles() -> None:
    with pytest.raises(p.InvalidValue, match="bytes as JSON"):
        check_json({"a": "x" * MAX_JSON_BYTES}, "custom_fields")
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(p.InvalidValue):
        check_json(loop, "custom_fields")
    ok = {"a": [1, 2.5, True, None, "é"], "b": {"c": (1, 2)}}
    assert check_json(ok, "custom_fields") is ok


@pytest.mark.parametrize("name", [".", "..", "a/b", "a b", "", "x" * 256, NUL])
def test_check_name_refuses_what_cannot_be_a_flow_name(name: str) -> None:
    with pytest.raises(p.InvalidValue):
        check_name(name, "the flow name")


def test_check_tags() -> None:
    assert check_tags(["a", "b"], "tags") == ["a", "b"]
    assert check_tags(None, "tags") == []
    with pytest.raises(p.InvalidValue, match="not one string"):
        check_tags("ab", "tags")
    with pytest.raises(p.InvalidValue, match="limit is 500"):
        check_tags(["x" * 501], "tags")


def test_the_kinds_of_invalid_value() -> None:
    for kind in (p.InvalidId, MetaflowTaggingError, MetaflowInvalidPathspec):
        assert issubclass(kind, p.InvalidValue)
    assert issubclass(MetaflowTaggingError, ClientError)
    error = p.InvalidValue("the set name is bad", field="the set name")
    import pickle

    again = pickle.loads(pickle.dumps(error))
    assert again.field == "the set name" and str(again) == "the set name is bad"


# -- the decorator: refused when it decorates ----------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"name": NUL}, "the artifact name (name=)"),
        ({"name": SURROGATE}, "the artifact name (name=)"),
        ({"name": LONG}, "the artifact name (name=)"),
        ({"tags": [NUL]}, "a tag in tags"),
        ({"tags": ["t" * 501]}, "a tag in tags"),
        ({"custom_fields": {"a": NUL}}, "custom_fields['a']"),
        ({"custom_fields": {NUL: "a"}}, "a key of custom_fields"),
        ({"custom_fields": {"a": {"b": [float("nan")]}}}, "custom_fields['a']['b'][0]"),
        ({"custom_fields": {"a": object()}}, "custom_fields['a']"),
        ({"load_kwargs": {"a": NUL}}, "load_kwargs['a']"),
        ({"dump_kwargs": {"a": object()}}, "dump_kwargs['a']"),
    ],
)
def test_decorator_options_are_checked_at_decoration(
    repo: Any, options: dict[str, Any], field: str
) -> None:
    ran = []

    with pytest.raises(p.InvalidValue) as info:

        @p.provenance(**options)
        def f(x: int) -> int:
            ran.append(x)
            return x

        f(1)
    assert info.value.field == field
    assert "x" * (QUOTE + 1) not in str(info.value)
    assert ran == []
    _nothing_stored(repo)


def test_a_bad_run_info_fails_before_the_function_runs(repo: Any) -> None:
    p.set_run_info_fn(lambda info: {**info, "note": NUL})
    ran = []

    @p.provenance()
    def f(x: int) -> int:
        ran.append(x)
        return x

    try:
        with pytest.raises(p.InvalidValue, match="run info") as info:
            f(1)
    finally:
        p.set_run_info_fn(None)  # so that the failed call's task can be recorded
    assert info.value.field == "the run info (set_run_info_fn)['note']"
    assert ran == []
    _nothing_stored(repo)


def test_a_composite_key_too_long_for_a_name_stores_no_member(repo: Any) -> None:
    @p.provenance(returns_composite=True)
    def f(x: int) -> dict[str, int]:
        return {"fine": x, "k" * 300: x}

    with pytest.raises(p.InvalidValue, match="limit is 255"):
        f(1)
    _nothing_stored(repo)


def test_arguments_no_json_column_holds_are_summarized(repo: Any) -> None:
    @p.provenance()
    def f(a: Any, b: Any, c: Any) -> int:
        return 1

    out = f({NUL: 1, "ok": 2}, float("inf"), SURROGATE)
    summary = out.artifact.inputs_summary["kargs"]
    assert summary["a"]["$type"] == "builtins.dict"
    assert summary["b"] == {"$type": "float", "$repr": "inf"}
    assert summary["c"]["$type"] == "str"


# -- sets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "field"),
    [
        (NUL, "the set name"),
        (LONG, "the set name"),
        ({"name": "s", "note": NUL}, "the set labels['note']"),
        ({"name": "s", "n": float("nan")}, "the set labels['n']"),
    ],
)
def test_set_labels_are_checked_before_a_block_runs(repo: Any, labels: Any, field: str) -> None:
    ran = []

    @p.provenance()
    def square(x: int) -> int:
        ran.append(x)
        return x * x

    with pytest.raises(p.InvalidValue) as info, p.capture_set(labels):
        square(2)
    assert info.value.field == field
    assert "x" * (QUOTE + 1) not in str(info.value)

    @p.provenance_set(set_labels_fn=lambda x: labels)
    def make(x: int) -> None:
        square(x)

    with pytest.raises(p.InvalidValue):
        make(3)
    with pytest.raises(p.InvalidValue):
        p.provenance_set(set_labels=labels)
    with pytest.raises(p.InvalidValue):
        p.create_set([], labels)
    assert ran == []
    _nothing_stored(repo)


def test_set_lookups_are_checked(repo: Any) -> None:
    for bad in (NUL, LONG):
        with pytest.raises(p.InvalidValue, match="the set name"):
            p.load_set_by_name(bad)
        with pytest.raises(p.InvalidValue, match="the set name"):
            p.load_set_by_labels({"name": bad})
        with pytest.raises(p.InvalidValue, match="the set name"):
            repo.index.find_sets(name=bad)
    with pytest.raises(p.SetNotFound):
        p.load_set_by_name("x" * 255)


# -- finding artifacts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "criteria",
    [
        {"name": NUL},
        {"name": LONG},
        {"fn_name": NUL},
        {"value_id": NUL},
        {"tags": [NUL]},
        {"tags": [LONG]},
        {"custom_fields": {NUL: "a"}},
        {"custom_fields": {"a": NUL}},
    ],
)
def test_artifact_lookups_are_checked(repo: Any, criteria: dict[str, Any]) -> None:
    with pytest.raises(p.InvalidValue):
        repo.find_artifacts(**criteria)
    if "name" in criteria:
        with pytest.raises(p.InvalidValue, match="the name looked up"):
            repo.index.summaries(name=criteria["name"])


# -- runs and the client -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flow", "tags", "error"),
    [
        ("..", None, p.InvalidValue),
        (".", None, p.InvalidValue),
        (NUL, None, p.InvalidValue),
        (LONG, None, p.InvalidValue),
        ("F", [NUL], MetaflowTaggingError),
        ("F", [SURROGATE], MetaflowTaggingError),
        ("F", [LONG], MetaflowTaggingError),
    ],
)
def test_a_run_that_cannot_be_recorded_never_starts(
    repo: Any, flow: str, tags: Any, error: type[Exception]
) -> None:
    ran = []
    with pytest.raises(error) as info, p.run(flow, tags=tags):
        ran.append(1)
    assert "x" * (QUOTE + 1) not in str(info.value)
    assert ran == []
    assert _count(repo, RunRow) == 0


@pytest.mark.parametrize(
    ("cls", "pathspec"),
    [
        (client.Flow, "x\x00"),
        (client.Flow, LONG),
        (client.Flow, ".."),
        (client.Run, "F/1\x00"),
        (client.Step, "F/1/" + NUL),
        (client.Task, "F/1/s/" + LONG),
        (client.DataArtifact, "F/1/s/1/" + NUL),
    ],
)
def test_client_pathspecs_are_checked(repo: Any, cls: Any, pathspec: str) -> None:
    client.namespace(None)
    with pytest.raises(MetaflowInvalidPathspec) as info:
        cls(pathspec)
    assert isinstance(info.value, p.InvalidValue) and info.value.field
    assert "x" * (QUOTE + 1) not in str(info.value)


def test_client_tags_and_namespaces_are_checked(repo: Any) -> None:
    with p.run("F") as r:
        pass
    client.namespace(None)
    run = client.Run(r.pathspec)
    for bad in (NUL, LONG):
        with pytest.raises(MetaflowTaggingError):
            run.add_tag(bad)
        with pytest.raises(MetaflowTaggingError):
            run.remove_tag(bad)
        with pytest.raises(MetaflowTaggingError):
            list(client.Flow("F").runs(bad))
        with pytest.raises(MetaflowTaggingError):
            list(run.steps(bad))
        with pytest.raises(MetaflowTaggingError):
            client.namespace(bad)
    assert client.Run(r.pathspec).user_tags == frozenset()
    assert "F" in client.Metaflow() and "x\x00" not in client.Metaflow()


def test_a_set_stored_before_the_checks_still_loads(disk_repo: Any) -> None:
    # SQLite stored a 10,000-character set name before names were checked: the
    # set loads (a new set under that name is refused when saved).
    from datetime import datetime, timezone

    from sqlalchemy import insert

    from provenance.hashing import hash_value

    labels = {"name": LONG}
    old = p.ArtifactSet([], labels)
    with disk_repo.index._begin() as conn:
        conn.execute(
            insert(SetRow.__table__),
            [{"id": old.id, "name": LONG, "labels": labels, "labels_hash": hash_value(labels),
              "size": 0, "created_at": datetime.now(timezone.utc)}],
        )  # fmt: skip
    assert p.load_set_by_id(old.id).name == LONG
    with pytest.raises(p.InvalidValue, match="the set name"):
        old.save()
