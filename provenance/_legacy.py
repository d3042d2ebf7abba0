"""The module paths things had before the package was split into wings.

Two things remember where a class or function lives, and both must keep
working across the move:

* **ids**: a call that takes a provenance object (an artifact record, a
  repository, a set, a blobstore) hashes it through its reduction, and the
  reduction names classes and functions by module and qualified name;
* **pickles**: stored values and recorded inputs name the classes and
  functions that rebuild them.

So each moved class or function reports its old module (as numpy's
functions report ``numpy``), and each old module path still imports: a
module that moved whole is the same module object under both names, and one
that was split keeps a thin re-export (``provenance.artifact``,
``provenance.repos``, ``provenance.runs``...) through which the old names
resolve.  :func:`install` runs once, from ``provenance/__init__.py``, after
every module is imported.  ``tests/test_public_api.py`` pins the hashes of
these objects to the values the old layout gave them.
"""

from __future__ import annotations

import importlib
import sys
import types

__all__ = ["MOVED", "SPLIT", "install"]

#: Modules that moved whole: old path -> the module it now is.
MOVED = {
    "provenance.sets": "provenance.verbs.sets",
    "provenance.gc": "provenance.verbs.gc",
    "provenance.verify": "provenance.verbs.verify",
    "provenance.lineage": "provenance.verbs.lineage",
    "provenance.promote": "provenance.verbs.promote",
    "provenance.db": "provenance.verbs.upgrade",
    "provenance.index": "provenance.storage.index",
    "provenance.models": "provenance.storage.models",
    "provenance.schema": "provenance.storage.schema",
    "provenance.ids": "provenance.storage.ids",
    "provenance._postgres": "provenance.storage.postgres",
    "provenance.vis": "provenance.verbs.vis",
    "provenance.observers": "provenance.storage.observers",
    "provenance.blobstores": "provenance.storage.blobstores",
    "provenance.blobstores.base": "provenance.storage.blobstores.base",
    "provenance.blobstores.memory": "provenance.storage.blobstores.memory",
    "provenance.blobstores.disk": "provenance.storage.blobstores.disk",
    "provenance.blobstores.chained": "provenance.storage.blobstores.chained",
    "provenance.blobstores.s3": "provenance.storage.blobstores.s3",
}

#: Modules made from a split one: new module -> the old path, a re-export
#: through which the old names still resolve.
SPLIT = {
    "provenance.storage.artifact": "provenance.artifact",
    "provenance.storage.proxies": "provenance.artifact",
    "provenance.storage.archived": "provenance.archive",
    "provenance.storage.inputs": "provenance.inputs",
    "provenance.storage.repos": "provenance.repos",
    "provenance.storage.original_repos": "provenance.repos",
    "provenance.storage.index.engine": "provenance.index",
    "provenance.storage.index.rows": "provenance.index",
    "provenance.serializers.registry": "provenance.serializers",
    "provenance.recording": "provenance.runs",
    "provenance.flows.runs": "provenance.runs",
    "provenance.flows.client.base": "provenance.client",
    "provenance.flows.client.data": "provenance.client",
    "provenance.flows.client.namespaces": "provenance.client",
    "provenance.flows.client.objects": "provenance.client",
}


def _defined_in(module: types.ModuleType) -> list[tuple[str, object]]:
    return [
        (name, obj)
        for name, obj in vars(module).items()
        if isinstance(obj, (type, types.FunctionType))
        and getattr(obj, "__module__", None) == module.__name__
    ]


def install() -> None:
    """Make the old module paths import, and moved objects report them."""
    for old, new in MOVED.items():
        module = importlib.import_module(new)
        # Found first by the import system, so ``import provenance.sets``
        # (and pickle's lookup) gets this very module, never a second copy.
        sys.modules.setdefault(old, module)
        # ``import a.b`` then reads ``b`` off ``a``; but ``provenance.gc``,
        # ``verify`` and ``promote`` are the functions, as they always were.
        parent, _, child = old.rpartition(".")
        if not hasattr(sys.modules[parent], child):
            setattr(sys.modules[parent], child, module)
        for _name, obj in _defined_in(module):
            obj.__module__ = old
    for new, old in SPLIT.items():
        module = importlib.import_module(new)
        legacy = importlib.import_module(old)
        for name, obj in _defined_in(module):
            # Only what the old path still offers: a name it lacks would
            # make a pickle that cannot be loaded.
            if getattr(legacy, name, None) is obj:
                obj.__module__ = old
