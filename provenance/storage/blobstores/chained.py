"""A blobstore that layers several stores, fastest first."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ...errors import BlobNotFound, ConfigError
from .base import Blobstore, Staged

__all__ = ["ChainedStore"]


class ChainedStore(Blobstore):
    """Reads from the first store that has a blob; writes to every writable store.

    A blob found in a later store is copied into the earlier writable stores
    (read-through), so a local disk store in front of a remote one keeps what
    was fetched.

    Parameters
    ----------
    stores : sequence of Blobstore
        The stores, in lookup order.
    read_through_write : bool
        Whether a blob read from a later store is written to earlier ones.
    """

    kind = "chained"

    def __init__(
        self,
        stores: Sequence[Blobstore],
        *,
        read_through_write: bool = True,
        read: bool = True,
        write: bool = True,
        delete: bool = False,
    ) -> None:
        super().__init__(read=read, write=write, delete=delete)
        if not stores:
            raise ConfigError("a chained blobstore needs at least one store in 'stores'")
        self.stores = list(stores)
        self.read_through_write = read_through_write

    def spec(self) -> dict[str, Any]:
        return {
            "type": "chained",
            "stores": [s.spec() for s in self.stores],
            "read_through_write": self.read_through_write,
            "read": self.read,
            "write": self.write,
            "delete": self.delete_allowed,
        }

    def _readable(self) -> list[Blobstore]:
        return [s for s in self.stores if s.read]

    def _exists(self, key: str) -> bool:
        return any(s._exists(key) for s in self._readable())

    def _get(self, key: str) -> bytes:
        for i, store in enumerate(self.stores):
            if not store.read or not store._exists(key):
                continue
            data = store._get(key)
            if self.read_through_write:
                for earlier in self.stores[:i]:
                    if earlier.write and earlier.accepts_read_through:
                        earlier._put_bytes(key, data, False)
            return data
        raise BlobNotFound(f"blob {key} is in none of the stores of {self!r}")

    def _size(self, key: str) -> int:
        for store in self._readable():
            if store._exists(key):
                return store._size(key)
        raise BlobNotFound(f"blob {key} is in none of the stores of {self!r}")

    def local_path(self, key: str) -> str | None:
        # Only a store that holds the blob locally can answer; otherwise
        # ``open_local`` falls back to ``_get``, which reads through.
        for store in self._readable():
            if store._exists(key):
                return store.local_path(key)
        return None

    def staging_dir(self) -> str | None:
        for store in self.stores:
            if store.write and store.staging_dir():
                return store.staging_dir()
        return None

    def _staging(self) -> Iterator[Staged]:
        seen: set[str] = set()
        for store in self.stores:
            for item in store._staging():
                if item.path not in seen:
                    seen.add(item.path)
                    yield Staged(item.path, item.size, item.age, item.owner or store)

    def _writable(self) -> list[Blobstore]:
        stores = [s for s in self.stores if s.write]
        if not stores:
            raise ConfigError(f"{self!r} has no writable store")
        return stores

    def _put_bytes(self, key: str, data: bytes | memoryview, overwrite: bool) -> None:
        for store in self._writable():
            store._put_bytes(key, data, overwrite)

    def _put_file(self, key: str, path: str, move: bool, overwrite: bool) -> None:
        stores = self._writable()
        # Only the last store may consume the source file.
        for i, store in enumerate(stores):
            store._put_file(key, path, move and i == len(stores) - 1, overwrite)

    def _delete(self, key: str) -> None:
        for store in self.stores:
            if store.delete_allowed:
                store._delete(key)

    def _keys(self) -> Iterator[str]:
        seen: set[str] = set()
        for store in self._readable():
            for key in store._keys():
                if key not in seen:
                    seen.add(key)
                    yield key

    def __repr__(self) -> str:
        return f"<ChainedStore {self.stores!r}>"
