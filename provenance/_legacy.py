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
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

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
    "provenance.storage.index.sql": "provenance.index",
    "provenance.serializers.registry": "provenance.serializers",
    "provenance.recording": "provenance.runs",
    "provenance.runnames": "provenance.runs",
    "provenance.runstack": "provenance.runs",
    "provenance.flows.runs": "provenance.runs",
    "provenance.flows.client.base": "provenance.client",
    "provenance.flows.client.data": "provenance.client",
    "provenance.flows.client.namespaces": "provenance.client",
    "provenance.flows.client.objects": "provenance.client",
}


#: The names each split module's old path still offers (a name it lacks would
#: make a pickle that cannot be loaded).  Static, so that setting up the
#: old paths imports nothing; ``tests/test_public_api.py`` checks it against
#: the re-export modules.
SPLIT_NAMES: dict[str, frozenset[str]] = {
    "provenance.storage.artifact": frozenset({"Artifact", "_detached_artifact"}),
    "provenance.storage.proxies": frozenset(
        {
            "ArtifactProxy", "CompositeDict", "LazyDict", "TransformedProxy", "_proxy_of",
            "is_proxy", "lazy_dict", "transform_value",
        }
    ),
    "provenance.storage.archived": frozenset({"ArchivedFile", "normalized_extension"}),
    "provenance.storage.inputs": frozenset({"_identity"}),
    "provenance.storage.repos": frozenset(
        {
            "ChainedRepository", "Repository", "artifact_from_spec", "memory_repo",
            "remember_repo", "repo_from_spec",
        }
    ),
    "provenance.storage.original_repos": frozenset(
        {"ChainedRepo", "DbRepo", "MemoryRepo", "PostgresRepo"}
    ),
    "provenance.storage.index.engine": frozenset(),
    "provenance.storage.index.rows": frozenset({"decode_datetime", "decode_json"}),
    "provenance.storage.index.sql": frozenset({"SqlIndex"}),
    "provenance.serializers.registry": frozenset(
        {
            "Serializer", "available_serializers", "get_serializer", "register_serializer",
            "serializer_for",
        }
    ),
    "provenance.recording": frozenset(
        {
            "adopt", "end_implicit_runs", "flush", "implicit_runs", "record", "ref_for_workers",
        }
    ),
    "provenance.runstack": frozenset({"current_run"}),
    "provenance.runnames": frozenset(
        {"default_flow_name", "system_tags", "validate_tag", "validate_tags"}
    ),
    "provenance.flows.runs": frozenset({"ActiveRun", "run"}),
    "provenance.flows.client.base": frozenset({"MetaflowObject"}),
    "provenance.flows.client.data": frozenset(
        {"FlowCode", "MetaflowArtifacts", "MetaflowData", "TaskException"}
    ),
    "provenance.flows.client.namespaces": frozenset(
        {"default_metadata", "default_namespace", "get_metadata", "get_namespace", "metadata",
         "namespace"}
    ),
    "provenance.flows.client.objects": frozenset(
        {"DataArtifact", "Flow", "Metaflow", "Run", "Step", "Task"}
    ),
}  # fmt: skip

#: Where each moved or split module's objects report they live, by the module.
_REPORTS: dict[str, tuple[str, frozenset[str] | None]] = {
    **{new: (old, None) for old, new in MOVED.items()},
    **{new: (old, SPLIT_NAMES[new]) for new, old in SPLIT.items()},
}


def _defined_in(module: types.ModuleType) -> list[tuple[str, object]]:
    return [
        (name, obj)
        for name, obj in vars(module).items()
        if isinstance(obj, (type, types.FunctionType))
        and getattr(obj, "__module__", None) == module.__name__
    ]


def _report_old_path(module: types.ModuleType) -> None:
    old, names = _REPORTS[module.__name__]
    for name, obj in _defined_in(module):
        if names is None or name in names:
            obj.__module__ = old
    # The module an object reports must be importable *and imported*: pickle
    # (and cloudpickle, which otherwise pickles a class by value) looks it
    # up in sys.modules.  A module moved whole is that module; a re-export is
    # put there unexecuted, to run when first used.
    if old in sys.modules:
        return
    if names is None:
        sys.modules[old] = module
    elif old not in MOVED:
        _put_lazily(old)


def _put_lazily(name: str) -> types.ModuleType:
    """Put module ``name`` in ``sys.modules``, to be executed on first attribute access."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _Reporting(importlib.abc.Loader):
    """A module's own loader, which then makes its moved objects report their old path."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        _report_old_path(module)

    def __getattr__(self, name: str) -> Any:
        # get_source, get_filename, is_package...: inspect and linecache ask.
        return getattr(self._loader, name)


class _Alias(importlib.abc.Loader):
    """Loads an old module path as the module it moved to (the very same object)."""

    def __init__(self, target: str) -> None:
        self._target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(self._target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system gave the module the alias's spec: its own is kept.
        module.__spec__ = self._spec


class _OldPaths(importlib.abc.MetaPathFinder):
    """Finds the old module paths (:data:`MOVED`) and wraps the loaders of moved modules."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, _Alias(MOVED[fullname]))
        if fullname not in _REPORTS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Reporting(spec.loader)
                return spec
        return None


def _alias_lazily(old: str, new: str) -> None:
    """Put ``new`` in ``sys.modules`` under both names now, executed on first use.

    For the old paths that are also names of functions on the package
    (``provenance.gc``, ``verify``, ``promote``): an import that found them
    through the finder would set the module over the function.
    """
    if old in sys.modules:
        return
    module = sys.modules.get(new)
    if module is None:
        module = _put_lazily(new)  # its loader is wrapped by the finder: it reports
        parent, _, child = new.rpartition(".")
        setattr(sys.modules[parent], child, module)
    sys.modules[old] = module


def install() -> None:
    """Make the old module paths import, and moved objects report them (on import)."""
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.insert(0, _OldPaths())
    for name in _REPORTS:
        module = sys.modules.get(name)
        if module is not None:  # imported before (never, from provenance/__init__)
            _report_old_path(module)
    package = __name__.rpartition(".")[0]
    exports = vars(sys.modules[package]).get("_EXPORTS", {})
    for old, new in MOVED.items():
        parent, _, child = old.rpartition(".")
        if parent == package and child in exports:
            _alias_lazily(old, new)
