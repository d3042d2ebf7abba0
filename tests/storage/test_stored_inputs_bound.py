"""``max_stored_input`` bounds every argument, not only the arrays and frames stored apart."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import sqlite_config

import provenance as p
from provenance.storage.stored_inputs import InputNotStored, pickled_over


@p.provenance(name="bound.length")
def length(data: Any, k: int) -> int:
    return len(data) * k


def test_a_big_pickled_argument_over_the_bound_is_recorded_by_hash_only(tmp_path: Any) -> None:
    cfg = p.load_config(sqlite_config(str(tmp_path / "repo"), max_stored_input="100KB"))
    repo = cfg.repos["local"]
    big = b"x" * 2_000_000
    first, second = length(big, 1), length(big, 2)
    for made in (first, second):
        (inline, blob, refs) = repo.index.input_footprints([made.artifact.id])[made.artifact.id]
        assert inline < 1_000 and blob is None and refs == []  # nothing of the 2 MB kept
        held = repo.get_artifact(made.artifact.id).inputs["kargs"]["data"]
        assert isinstance(held, InputNotStored)
        assert "'data'" in repr(held) and "max_stored_input" in repr(held)
        with pytest.raises(AttributeError, match="was not stored"):
            held.decode()
    summary = repo.get_artifact(first.artifact.id).inputs_summary["kargs"]["data"]
    assert summary["$input"] == {"stored": False, "size": 2_000_007, "limit": 100_000}
    assert length(big, 1) == 2_000_000  # a hit all the same: the id is the hash
    assert length.in_cache(big, 1)


def test_arguments_under_the_bound_are_kept_whole(tmp_path: Any) -> None:
    cfg = p.load_config(sqlite_config(str(tmp_path / "repo"), max_stored_input="100KB"))
    small = [b"y" * 1000 for _ in range(50)]  # 50 KB pickled
    made = length(small, 1)
    assert cfg.repos["local"].get_artifact(made.artifact.id).inputs["kargs"]["data"] == small


def test_pickled_over_counts_at_most_about_the_bound() -> None:
    assert pickled_over(b"x" * 10, 100) is None
    assert pickled_over(list(range(100_000)), 1000) is not None
    assert pickled_over(lambda: 1, 10) is None  # cannot pickle: left to the inputs pickle
    assert pickled_over("é" * 40, 100) is None
