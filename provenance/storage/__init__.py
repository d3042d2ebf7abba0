"""The storage wing: where artifacts are kept.

An SQL index (:mod:`~provenance.storage.index`, over the tables of
:mod:`~provenance.storage.models`, migrated by :mod:`~provenance.storage.schema`)
holds the records, lineage, sets, runs and tasks; a blobstore
(:mod:`~provenance.storage.blobstores`) holds the bytes; a repository
(:mod:`~provenance.storage.repos`) composes one of each and hands out
records (:mod:`~provenance.storage.artifact`) and values
(:mod:`~provenance.storage.proxies`, :mod:`~provenance.storage.archived`).

Nothing here imports the call path, the verbs, the flows or the command
line (an import-linter contract checks it).
"""
