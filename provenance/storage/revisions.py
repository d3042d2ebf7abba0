"""The schema revisions this library knows, as plain data.

Read by the light SQLite index, which checks a file's revision with one
query and without SQLAlchemy, and by :mod:`.schema`, which creates and
upgrades the schema through the Alembic migrations in ``migrations/``.
``tests/storage/test_schema.py`` checks :data:`SCHEMA_HEAD` against
Alembic's head.
"""

from __future__ import annotations

__all__ = ["KNOWN_REVISIONS", "SCHEMA_HEAD"]

#: The newest migration: the revision this library reads and writes.
SCHEMA_HEAD = "0006"
#: Every revision this library knows, oldest first.
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")
