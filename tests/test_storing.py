"""How a computed value is recorded: a large array's or frame's hash runs beside its write."""

from __future__ import annotations

from typing import Any

import pytest

import provenance as p
from provenance.storing import _BESIDE_BYTES, _hashes_beside

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")


def _big_array() -> Any:
    return np.arange(_BESIDE_BYTES // 8 + 1000, dtype="float64")


def _big_frame() -> Any:
    n = _BESIDE_BYTES // 16 + 1000
    return pd.DataFrame({"f": np.arange(n, dtype="float64"), "i": np.arange(n)})


def test_only_large_plain_arrays_and_frames_hash_beside_the_write() -> None:
    assert _hashes_beside(_big_array()) and _hashes_beside(_big_frame())
    assert not _hashes_beside(np.arange(10.0))
    assert not _hashes_beside(np.empty(_BESIDE_BYTES // 8 + 1, dtype=object))
    objects = _big_frame().assign(o=None)
    assert not _hashes_beside(objects)
    assert not _hashes_beside(list(range(10)))


@pytest.mark.parametrize("make", [_big_array, _big_frame], ids=["array", "frame"])
def test_a_value_hashed_beside_its_write_records_its_value_id(disk_repo: Any, make: Any) -> None:
    @p.provenance()
    def build(key: str) -> Any:
        return make()

    made = build(make.__name__)
    artifact = p.load_artifact(made.artifact.id)
    assert artifact.value_id == p.hash_value(make())
    assert artifact.hash_duration is not None and artifact.hash_duration > 0
    back = artifact.value
    if isinstance(back, np.ndarray):
        assert np.array_equal(back, make())
    else:
        pd.testing.assert_frame_equal(back, make())
