"""The index each index contract test runs on, one per backend (a ``pytest_plugins`` plugin)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from provenance.storage.index import SqlIndex, SqliteFileIndex, open_index


@pytest.fixture(
    params=[
        "sqlite-file",
        "sqlite-light",
        "sqlite-memory",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("postgres-schema", marks=pytest.mark.postgres),
    ]
)
def index(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[SqlIndex]:
    if request.param == "sqlite-file":
        idx = SqlIndex(f"sqlite:///{tmp_path / 'i.db'}")
    elif request.param == "sqlite-light":
        # The light index of an existing file: its own reads, the rest delegated.
        SqlIndex(f"sqlite:///{tmp_path / 'i.db'}").dispose()
        idx = open_index(f"sqlite:///{tmp_path / 'i.db'}")
        assert isinstance(idx, SqliteFileIndex)
    elif request.param == "sqlite-memory":
        idx = SqlIndex("sqlite://")
    elif request.param == "postgres":
        idx = SqlIndex(request.getfixturevalue("postgres_url"))
    else:
        idx = SqlIndex(request.getfixturevalue("postgres_url"), schema="team_a")
    yield idx
    idx.dispose()
