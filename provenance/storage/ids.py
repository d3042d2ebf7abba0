"""Validation of the ids that name artifacts, sets and blobs.

Every id is checked against a strict pattern before it is used to build a
path, a key or a query, so that a hostile or mistyped id (``../../etc/passwd``)
is an error and never a file access outside a store.
"""

from __future__ import annotations

import re

from ..errors import InvalidId

__all__ = ["FULL_ID", "MIN_PREFIX", "check_blob_key", "check_id", "check_id_prefix", "is_id"]

#: The shortest full id (xxh3_128's 32 hex digits): a shorter string is a prefix.
FULL_ID = 32
#: The shortest id prefix the library accepts in place of an id (the command
#: line, where a person types it, accepts any length).
MIN_PREFIX = 8

# Digests are lowercase hex.  xxh3_128 gives 32 characters; longer digests are
# accepted so a later hashing scheme does not need a new validator.
_ID = re.compile(r"[0-9a-f]{32,128}\Z")
# A blob key is a digest, optionally followed by a file extension (archived
# files stored with ``preserve_ext=True``).
_BLOB_KEY = re.compile(r"[0-9a-f]{32,128}(\.[A-Za-z0-9_-]{1,32})?\Z")


def is_id(value: object) -> bool:
    """Whether ``value`` is a well-formed artifact or set id."""
    return isinstance(value, str) and _ID.match(value) is not None


def check_id(value: object, what: str = "artifact id") -> str:
    """Return ``value`` if it is a well-formed id, else raise :class:`InvalidId`."""
    if isinstance(value, str) and _ID.match(value):
        return value
    raise InvalidId(f"invalid {what} {value!r}: expected 32 to 128 lowercase hex characters")


def check_id_prefix(value: object, what: str = "artifact id", min_length: int = MIN_PREFIX) -> str:
    """Return ``value`` if it is an id or a prefix of one of ``min_length`` or more characters.

    Raises
    ------
    InvalidId
        If ``value`` is not a string of ``min_length`` to 128 lowercase hex
        digits; nothing has been looked up.
    """
    if (
        isinstance(value, str)
        and min_length <= len(value) <= 128
        and all(c in "0123456789abcdef" for c in value)
    ):
        return value
    least = f" of at least {min_length} characters" if min_length > 1 else ""
    raise InvalidId(
        f"invalid {what} {value!r}: expected 32 to 128 lowercase hex characters, "
        f"or a unique prefix of one{least}"
    )


def check_blob_key(value: object) -> str:
    """Return ``value`` if it is a well-formed blob key, else raise :class:`InvalidId`."""
    if isinstance(value, str) and _BLOB_KEY.match(value):
        return value
    raise InvalidId(
        f"invalid blob key {value!r}: expected a lowercase hex digest, "
        "optionally followed by a file extension"
    )
