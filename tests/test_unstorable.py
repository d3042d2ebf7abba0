"""A value that cannot be stored is returned, warning of the function and the part (issue 19)."""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any

import pytest

import provenance as p
from provenance.unstorable import unpicklable_part


class Holder:
    def __init__(self, inner: Any) -> None:
        self.inner = inner


def _returning(value_of: Any) -> Any:
    calls: list[Any] = []

    @p.provenance()
    def make(x: int) -> Any:
        calls.append(value := value_of())
        return value

    return make, calls


@pytest.mark.parametrize(
    ("value_of", "blamed"),
    [
        (lambda: {"a": [1, {"lock": threading.Lock()}]}, r"_thread.lock at \['a'\]\[1\]\['lock'\]"),
        (lambda: {"gen": (i for i in range(3))}, r"generator at \['gen'\]"),
        (lambda: [1, os], r"cannot pickle 'module' object at \[1\] \(a builtins.module\)"),
    ],
    ids=["lock", "generator", "module"],
)
def test_the_value_is_returned_unstored_with_a_warning_naming_function_and_path(
    repo: Any, value_of: Any, blamed: str
) -> None:
    make, calls = _returning(value_of)
    with pytest.warns(p.UnstorableValueWarning, match=blamed) as caught:
        result = make(1)
    message = str(caught[0].message)
    assert "test_unstorable._returning.<locals>.make returned a value" in message
    assert "returned unstored" in message
    # The warning points at the caller's line, not inside the library.
    assert caught[0].filename == __file__
    # The value is the one computed, and nothing of it is stored.
    assert result.artifact.value is calls[0]
    assert result == calls[0]
    with pytest.raises(p.ArtifactNotFound):
        p.load_artifact(result.artifact.id)
    with pytest.warns(p.UnstorableValueWarning):
        make(1)
    assert len(calls) == 2  # not cached: it runs again


def test_an_object_attribute_is_named_in_the_path(repo: Any) -> None:
    make, _ = _returning(lambda: [Holder({"m": os})])
    with pytest.warns(p.UnstorableValueWarning, match=r"at \[0\]\.inner\['m'\]"):
        make(2)


def test_a_value_that_stores_gives_no_warning(repo: Any) -> None:
    make, _ = _returning(lambda: {"a": [1, 2]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", p.UnstorableValueWarning)
        assert make(3).artifact.id


def test_a_composite_member_that_cannot_be_stored_is_returned_with_the_others(repo: Any) -> None:
    @p.provenance(returns_composite=True)
    def split(x: int) -> dict[str, Any]:
        return {"good": [x], "bad": (i for i in range(x))}

    warned = r"split returned .*'.*split_bad'.* generator"
    with pytest.warns(p.UnstorableValueWarning, match=warned):
        parts = split(2)
    assert parts["good"] == [2]
    assert list(parts["bad"]) == [0, 1]
    # All of it or none: no composite row names a member that was not stored.
    with pytest.raises(p.ArtifactNotFound):
        p.load_artifact(parts.artifact.id)
    with pytest.warns(p.UnstorableValueWarning):
        again = split(2)
    assert list(again["bad"]) == [0, 1]  # computed again, not a half-stored hit


def test_unpicklable_part_finds_the_innermost_part() -> None:
    lock = threading.Lock()
    assert unpicklable_part({"x": [1, Holder(lock)]}) == ("['x'][1].inner", lock)
    assert unpicklable_part([1, 2]) is None
    # cloudpickle writes a module by reference: not to blame for it.
    assert unpicklable_part([os], "cloudpickle") is None
