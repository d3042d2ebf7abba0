"""A blobstore in a dict, for tests and throwaway sessions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from ...errors import BlobNotFound
from .base import Blobstore

__all__ = ["MemoryStore"]


class MemoryStore(Blobstore):
    """Blobs held in this process's memory; nothing survives the process."""

    kind = "memory"

    def __init__(self, *, read: bool = True, write: bool = True, delete: bool = True) -> None:
        super().__init__(read=read, write=write, delete=delete)
        self._blobs: dict[str, bytes] = {}
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()

    def _exists(self, key: str) -> bool:
        return key in self._blobs

    def _get(self, key: str) -> bytes:
        try:
            return self._blobs[key]
        except KeyError:
            raise BlobNotFound(f"blob {key} is not in {self!r}") from None

    def _put_bytes(self, key: str, data: bytes | memoryview, overwrite: bool) -> None:
        # Assigning one complete bytes object is atomic for other threads.
        with self._lock:
            if overwrite or key not in self._blobs:
                self._blobs[key] = bytes(data)
            self._written[key] = time.monotonic()

    def _put_file(self, key: str, path: str, move: bool, overwrite: bool) -> None:
        if not overwrite and key in self._blobs:
            self._written[key] = time.monotonic()
            return
        with open(path, "rb") as f:
            self._put_bytes(key, f.read(), overwrite)

    def _delete(self, key: str) -> None:
        with self._lock:
            self._blobs.pop(key, None)
            self._written.pop(key, None)

    def _keys(self) -> Iterator[str]:
        return iter(list(self._blobs))

    def _age(self, key: str) -> float | None:
        written = self._written.get(key)
        return None if written is None else time.monotonic() - written

    def _size(self, key: str) -> int:
        return len(self._get(key))
