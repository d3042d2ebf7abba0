"""The registry: choosing by type (dotted names, subclasses, precedence, accepts)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

import provenance as p
from provenance.serializers import registry


@pytest.fixture(autouse=True)
def restore_registry() -> Iterator[None]:
    saved = dict(registry._registry)
    yield
    with registry._lock:
        registry._registry.clear()
        registry._registry.update(saved)
        registry._candidates.clear()


def _noop_dump(value: Any, filename: str) -> None:
    raise AssertionError("not called")


def _noop_load(filename: str) -> Any:
    raise AssertionError("not called")


class Base:
    pass


class Child(Base):
    pass


def test_a_class_may_be_named_by_its_dotted_name() -> None:
    dotted = f"{Child.__module__}.{Child.__qualname__}"
    p.register_serializer("by-name", _noop_dump, _noop_load, classes=[dotted])
    assert registry.serializer_for(Child()) == "by-name"
    assert registry.serializer_for(Base()) == "joblib"


def test_the_most_specific_class_wins_then_the_last_registered() -> None:
    p.register_serializer("base", _noop_dump, _noop_load, classes=[Base])
    assert registry.serializer_for(Child()) == "base"  # a subclass, as isinstance
    p.register_serializer("child", _noop_dump, _noop_load, classes=[Child])
    p.register_serializer("base-too", _noop_dump, _noop_load, classes=[Base])
    assert registry.serializer_for(Child()) == "child"
    assert registry.serializer_for(Base()) == "base-too"


def test_a_candidate_that_does_not_accept_gives_way() -> None:
    p.register_serializer("base", _noop_dump, _noop_load, classes=[Base])
    p.register_serializer(
        "picky", _noop_dump, _noop_load, classes=[Child], accepts=lambda v: hasattr(v, "ok")
    )
    ok = Child()
    ok.ok = True  # type: ignore[attr-defined]
    assert registry.serializer_for(ok) == "picky"
    assert registry.serializer_for(Child()) == "base"


def test_the_choice_is_cached_per_type_and_reset_by_a_registration() -> None:
    assert registry.serializer_for(Child()) == "joblib"
    assert Child in registry._candidates
    p.register_serializer("late", _noop_dump, _noop_load, classes=[Child])
    assert Child not in registry._candidates
    assert registry.serializer_for(Child()) == "late"


def test_classes_must_be_types_or_names() -> None:
    with pytest.raises(TypeError, match="dotted names"):
        p.register_serializer("bad", _noop_dump, _noop_load, classes=[3])  # type: ignore[list-item]


def test_the_built_in_type_choices_are_registered() -> None:
    assert {"npy", "pd_df_parquet", "pd_series_parquet"} <= set(p.available_serializers())


def test_registering_for_pandas_and_numpy_imports_neither() -> None:
    code = textwrap.dedent(
        """
        import sys
        import provenance
        print([m for m in ("pandas", "numpy", "pyarrow") if m in sys.modules])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_object_serializer_is_the_originals_name_for_serializer_for() -> None:
    from provenance.serializers import object_serializer, serializer_for

    assert object_serializer is serializer_for
    assert object_serializer(object()) == "joblib"
