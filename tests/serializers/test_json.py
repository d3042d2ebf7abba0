"""json: chosen by type for JSON-shaped values of plain types, read back exactly, safe."""

from __future__ import annotations

import collections
import enum
import math
from typing import Any

import pytest
from conftest import sqlite_config
from hypothesis import given, settings
from hypothesis import strategies as st

import provenance as p
from provenance.serializers import get_serializer, serializer_for
from provenance.serializers.json import MAX_DEPTH, json_exact


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    pass


shared = [1, 2]
cycle: list[Any] = []
cycle.append(cycle)


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


#: (id, value, the serializer chosen for it).
VALUES = [
    ("dict", {"a": 1, "b": [1.5, None, True, "s"]}, "json"),
    ("list", [1, "two", 3.0, False, None, {"k": []}], "json"),
    ("str", "text with ünïcode and \udc80 a lone surrogate", "json"),
    ("int", 7, "json"),
    ("big int", 10**300, "json"),
    ("negative zero", -0.0, "json"),
    ("float", 0.1, "json"),
    ("bool", True, "json"),
    ("None", None, "json"),
    ("empty dict", {}, "json"),
    ("key order", {"b": 1, "a": 2}, "json"),
    ("deep", nested(MAX_DEPTH - 1), "json"),
    # What JSON would change: the default stores them.
    ("tuple", (1, 2), "joblib"),
    ("tuple inside", {"a": (1, 2)}, "joblib"),
    ("int keys", {1: "a"}, "joblib"),
    ("bool keys", {True: "a"}, "joblib"),
    ("nan", math.nan, "joblib"),
    ("inf inside", [math.inf], "joblib"),
    ("huge int", 1 << 20_000, "joblib"),
    ("OrderedDict", collections.OrderedDict(a=1), "joblib"),
    ("IntEnum", Color.RED, "joblib"),
    ("str subclass", Name("x"), "joblib"),
    ("str subclass inside", [Name("x")], "joblib"),
    ("set", {1, 2}, "joblib"),
    ("bytes", b"x", "joblib"),
    ("shared list", [shared, shared], "joblib"),
    ("cycle", cycle, "joblib"),
    ("too deep", nested(MAX_DEPTH + 1), "joblib"),
]


@pytest.mark.parametrize("value, expected", [v[1:] for v in VALUES], ids=[v[0] for v in VALUES])
def test_json_is_chosen_exactly_for_values_it_gives_back(value: Any, expected: str) -> None:
    assert serializer_for(value) == expected


def same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down, -0.0 told from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)
ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda children: (
        st.lists(children)
        | st.tuples(children)
        | st.dictionaries(st.text() | st.integers(), children)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(ANY)
def test_whatever_json_accepts_reads_back_exactly(value: Any) -> None:
    ser = get_serializer("json")
    if json_exact(value):
        import io

        out = io.BytesIO()
        assert ser.dump_to is not None and ser.loads is not None
        ser.dump_to(value, out)
        assert same(ser.loads(out.getvalue()), value)


@settings(max_examples=200, deadline=None)
@given(JSONISH)
def test_json_accepts_every_value_of_plain_types_with_finite_floats(value: Any) -> None:
    assert json_exact(value)


def test_json_values_are_stored_read_back_and_keep_their_ids(tmp_path: Any) -> None:
    p.load_config(sqlite_config(str(tmp_path)))

    @p.provenance()
    def config_of(n: int) -> dict[str, Any]:
        return {"n": n, "scale": -0.0, "labels": ["a", "b"] * n, "big": 10**40}

    value = config_of(3000)  # over the inline limit: a blob file
    small = config_of(1)
    for proxy in (value, small):
        artifact = p.load_artifact(proxy.artifact.id)
        assert artifact.serializer == "json"
        loaded = artifact.value
        assert same(loaded, proxy.__wrapped__)
        # The value id is the value's hash, whatever the serializer.
        assert artifact.value_id == p.hash_value(loaded)
    assert get_serializer("json").safe


def test_safe_is_declared_and_defaults_to_false() -> None:
    assert [n for n in ("json", "npy", "pd_df_parquet", "pd_series_parquet") if
            not get_serializer(n).safe] == []  # fmt: skip
    assert not get_serializer("joblib").safe and not get_serializer("cloudpickle").safe
    try:
        mine = p.register_serializer("test_mine", lambda v, f: None, lambda f: None)
        assert mine.safe is False
        declared = p.register_serializer("test_mine", lambda v, f: None, lambda f: None, safe=True)
        assert declared.safe is True
    finally:
        from provenance.serializers import registry

        registry._registry.pop("test_mine", None)
        registry._candidates.clear()
