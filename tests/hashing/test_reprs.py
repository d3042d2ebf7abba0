"""The original library's ``provenance.hash`` and ``value_repr`` hook (issue 14, gap 1)."""

from __future__ import annotations

import threading

import pytest

import provenance as p
import provenance.hashing as ph
from provenance.errors import HashingError


def test_hash_is_the_value_id_an_artifact_records(disk_repo: p.Repository) -> None:
    @p.provenance(repo=disk_repo)
    def make(n: int) -> list[int]:
        return list(range(n))

    result = make(5)
    assert p.hash([0, 1, 2, 3, 4]) == result.artifact.value_id
    assert ph.hash({"a": 1}) == p.hash_value({"a": 1})
    assert ph.hash is p.hash and ph.value_repr is p.value_repr


def test_hash_takes_the_original_keywords() -> None:
    assert p.hash(3, hash_name="sha1") == p.hash(3)

    class Fixed:
        def hash(self, obj: object) -> str:
            return "fixed"

    assert p.hash(3, hasher=Fixed()) == "fixed"
    with pytest.raises(ValueError, match="hash_name must be 'md5' or 'sha1', got 'sha256'"):
        p.hash(3, hash_name="sha256")
    with pytest.raises(ValueError, match="coerce_mmap=False"):
        p.hash(3, coerce_mmap=False)


def test_hash_is_not_in_star_imports() -> None:
    namespace: dict[str, object] = {}
    exec("from provenance import *", namespace)
    assert "hash" not in namespace and "value_repr" in namespace


def test_value_repr_returns_the_object_or_its_method() -> None:
    class WithRepr:
        def value_repr(self) -> str:
            return "stand-in"

    plain = object()
    assert p.value_repr(plain) is plain
    assert p.value_repr(WithRepr()) == "stand-in"


def test_a_value_repr_method_decides_the_hash() -> None:
    class Model:
        def __init__(self, weights: list[int]) -> None:
            self.weights = weights
            self.lock = threading.Lock()  # would not hash: the stand-in leaves it out

        def value_repr(self) -> list[int]:
            return self.weights

    assert p.hash(Model([1, 2])) == p.hash(Model([1, 2]))
    assert p.hash(Model([1, 2])) != p.hash(Model([1, 3]))
    # The class is part of the hash: a stand-in never collides with the raw value.
    assert p.hash(Model([1, 2])) != p.hash([1, 2])


def test_value_repr_register_applies_to_types_already_hashed() -> None:
    class Handle:
        def __init__(self, key: str) -> None:
            self.key = key
            self.lock = threading.Lock()

    with pytest.raises(HashingError, match="lock"):
        p.hash(Handle("a"))  # the type is resolved (and cached) before it is registered

    @p.value_repr.register(Handle)
    def _(handle: Handle) -> str:
        return handle.key

    assert p.hash(Handle("a")) == p.hash(Handle("a")) != p.hash(Handle("b"))


class Reading(float):
    """Module level: singledispatch resolves the annotation in the module's globals."""


def test_value_repr_registered_by_annotation_and_same_type_stand_in() -> None:
    @p.value_repr.register
    def _(r: Reading) -> Reading:
        return Reading(round(r, 1))

    assert p.hash(Reading(1.01)) == p.hash(Reading(1.04)) != p.hash(Reading(1.1))


def test_a_value_repr_that_fails_names_the_type() -> None:
    class Broken:
        def value_repr(self) -> object:
            raise RuntimeError("no")

    class Selfish:
        def value_repr(self) -> object:
            return self

    with pytest.raises(HashingError, match=r"Broken.*value_repr raised RuntimeError"):
        p.hash({"x": Broken()})
    with pytest.raises(HashingError, match="returned the object itself"):
        p.hash(Selfish())


def test_register_hasher_for_the_class_wins_over_value_repr() -> None:
    class Both:
        def value_repr(self) -> int:
            return 1

    ph.register_hasher(Both, lambda b: 2)
    assert p.hash(Both()) != p.hash(type("Other", (), {"value_repr": lambda self: 1})())
    assert p.hash(Both()) == p.hash(Both())


def test_value_repr_changes_the_cache_key_of_a_call(disk_repo: p.Repository) -> None:
    class Config:
        def __init__(self, alpha: float, verbose: bool) -> None:
            self.alpha, self.verbose = alpha, verbose

        def value_repr(self) -> float:
            return self.alpha  # verbosity does not change results

    calls = []

    @p.provenance(repo=disk_repo)
    def fit(config: Config) -> float:
        calls.append(config.alpha)
        return config.alpha * 2

    assert fit(Config(0.5, True)) == 1.0
    assert fit(Config(0.5, False)) == 1.0
    assert fit(Config(0.7, False)) == 1.4
    assert calls == [0.5, 0.7]


def test_an_artifact_hashes_as_its_id_however_it_was_fetched(disk_repo: p.Repository) -> None:
    """As in the original: ``('artifact', id)``, not its loaded state."""

    @p.provenance()
    def make(n: int) -> list[int]:
        return [n]

    made = make(1)
    fetched = disk_repo.get_by_id(made.artifact.id)
    assert fetched is not made.artifact
    assert p.hash(made.artifact) == p.hash(fetched) == p.hash(p.load_artifact(made.artifact.id))
    assert p.hash(made.artifact) != p.hash(make(2).artifact)
