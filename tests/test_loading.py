"""``load_artifact`` and ``load_proxy`` by id, and by a unique id prefix of 8 or more digits."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

import provenance as p
from provenance.storage.prefixes import SHOWN_CANDIDATES


@p.provenance()
def square(n: int) -> int:
    return n * n


def count_prefix_queries(monkeypatch: pytest.MonkeyPatch, repo: Any) -> list[str]:
    """The prefixes the index of ``repo`` is asked about, from now on (a spy, not a stand-in)."""
    asked: list[str] = []
    index = repo.index
    real = index.ids_with_prefix

    def spy(prefix: str, limit: int = 2) -> list[str]:
        asked.append(prefix)
        return real(prefix, limit=limit)

    monkeypatch.setattr(index, "ids_with_prefix", spy)
    return asked


def test_a_unique_prefix_of_8_digits_loads_and_a_whole_id_needs_no_prefix_query(
    repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = square(7)
    full = made.artifact.id
    asked = count_prefix_queries(monkeypatch, repo)
    assert p.load_artifact(full).id == full
    assert asked == []  # the fast path: one lookup by id
    assert p.load_proxy(full[:8]) == 49
    assert p.load_artifact(full[:12]).id == full
    assert asked == [full[:8], full[:12]]


def test_short_malformed_and_unknown_prefixes_are_refused_before_any_lookup(
    repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = square(3).artifact.id
    asked = count_prefix_queries(monkeypatch, repo)
    for bad in (full[:7], "../../etc/passwd", full[:8].upper(), ""):
        with pytest.raises(p.InvalidId, match="at least 8 characters") as info:
            p.load_proxy(bad)
        assert repr(bad) in str(info.value)
        assert not isinstance(info.value, p.AmbiguousId)
    assert asked == []
    unknown = next(c * 8 for c in "0123456789abcdef" if not full.startswith(c))
    with pytest.raises(p.ArtifactNotFound, match=f"no artifact id starts with '{unknown}'"):
        p.load_artifact(unknown)
    with pytest.raises(p.ArtifactNotFound):
        p.load_artifact("0" * 32)  # a whole id is not taken as a prefix


def test_an_ambiguous_prefix_lists_ten_candidates_and_how_many_more(disk_repo: Any) -> None:
    made = [square(n).artifact for n in range(SHOWN_CANDIDATES + 3)]
    # Ids sharing 8 digits would take billions of calls to find: give them a
    # common prefix in the index itself.
    with disk_repo.index.engine.begin() as conn:
        conn.execute(text("UPDATE artifacts SET id = 'deadbeef' || substr(id, 9)"))
    renamed = sorted("deadbeef" + a.id[8:] for a in made)
    with pytest.raises(p.AmbiguousId) as info:
        p.load_proxy("deadbeef")
    error = info.value
    assert isinstance(error, p.InvalidId) and isinstance(error, ValueError)
    message = str(error)
    assert message.startswith(
        f"artifact id prefix 'deadbeef' is ambiguous: it matches {len(made)} artifact ids: "
    )
    listed = [i for i in renamed if i in message]
    assert len(listed) == SHOWN_CANDIDATES
    assert f"({made[0].name})" in message
    assert message.endswith("and 3 more; give more digits")
    assert error.prefix == "deadbeef" and sorted(error.candidates) == renamed
    # More digits make it unique.
    assert p.load_proxy(renamed[0][:20]).artifact.id == renamed[0]
