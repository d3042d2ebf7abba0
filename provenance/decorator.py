"""The ``@provenance`` decorator.

A decorated call is normalized by the function's signature, each argument
is hashed (proxies by their known value id, checked again when their value
is mutable), and the name, version or code fingerprint, and argument hashes
are hashed into the artifact id.  If the repo holds that id,
the stored value comes back as a proxy; otherwise the function runs, its
value is hashed and stored (blob first, then the index row), and the proxy
of the new artifact is returned.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from . import config as _config
from . import recording as _runs
from .artifact import CompositeDict
from .errors import (
    BlobNotFound,
    CorruptBlob,
    HashingError,
)
from .fingerprint import CodeFingerprint, code_fingerprint, importable_module_name
from .guards import (  # ensure_proxies: public here, as it always was
    _claim_default_name,
    check_impure,
    ensure_proxies,
    report_changed_proxies,
    warn_if_code_changed,
    warn_path_arguments,
)
from .hashing import HASH_SCHEME, changed_proxies, hash_bytes, hash_value, proxies_changed_in
from .runinfo import get_run_info
from .serializers import get_serializer
from .signature import CallSignature, remove_inputs_fn
from .storage.eviction import Removal, delete_artifacts, function_ids
from .storage.observers import artifact_observers, notify
from .storage.reading import check_map_mode
from .storage.repos import repo_from_spec
from .storage.validate import MAX_NAME, check_json, check_tags, check_text
from .storing import input_summary, store_archive, store_composite, store_value
from .why import explain_call

__all__ = ["ProvenanceFunction", "ensure_proxies", "provenance"]

logger = logging.getLogger(__name__)


class ProvenanceFunction:
    """A function whose calls are cached and recorded as artifacts.

    Made by :func:`provenance`; calling it returns an
    :class:`~provenance.ArtifactProxy`.  It can be inspected
    (:meth:`artifact_id`, :meth:`in_cache`) and pickled to worker processes.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        version: int | None = None,
        repo: Any = None,
        name: str | None = None,
        merge_defaults: Any = None,
        ignore: Iterable[str] | None = None,
        input_hash_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        remove: Iterable[str] | None = None,
        input_process_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        archive_file: bool = False,
        delete_original_file: bool = False,
        preserve_file_ext: bool = False,
        returns_composite: bool = False,
        custom_fields: Mapping[str, Any] | None = None,
        serializer: str | Mapping[str, str] | None = None,
        load_kwargs: Mapping[str, Any] | None = None,
        dump_kwargs: Mapping[str, Any] | None = None,
        use_cache: bool | None = None,
        read_only: bool | None = None,
        tags: Iterable[str] | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"@provenance decorates callables, got {fn!r}")
        if ignore and input_hash_fn:
            raise ValueError("pass either ignore or input_hash_fn, not both")
        if remove and input_process_fn:
            raise ValueError("pass either remove or input_process_fn, not both")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise TypeError(f"version must be an int, got {version!r}")
        if archive_file and returns_composite:
            raise ValueError("archive_file=True and returns_composite=True cannot be combined")
        if archive_file and serializer not in (None, "file"):
            raise ValueError("with archive_file=True the value is stored as a file: no serializer")
        if (delete_original_file or preserve_file_ext) and not archive_file:
            raise ValueError("delete_original_file and preserve_file_ext need archive_file=True")
        if returns_composite and isinstance(serializer, str):
            raise ValueError(
                "with returns_composite=True, serializer must be a dict of key -> serializer name"
            )
        # Fail at decoration time on a typo or a missing optional package.
        if isinstance(serializer, str):
            get_serializer(serializer).check()
        elif isinstance(serializer, Mapping):
            for s in serializer.values():
                get_serializer(s).check()

        self._fn = fn
        self._options = {
            "version": version, "repo": repo, "name": name,
            "merge_defaults": merge_defaults, "ignore": ignore,
            "input_hash_fn": input_hash_fn, "remove": remove,
            "input_process_fn": input_process_fn, "archive_file": archive_file,
            "delete_original_file": delete_original_file,
            "preserve_file_ext": preserve_file_ext,
            "returns_composite": returns_composite, "custom_fields": custom_fields,
            "serializer": serializer, "load_kwargs": load_kwargs,
            "dump_kwargs": dump_kwargs, "use_cache": use_cache, "read_only": read_only,
        "tags": tags,
        }  # fmt: skip
        target = fn
        while isinstance(target, functools.partial):
            target = target.func
        #: Where the function is defined (``__main__`` for a script), for pickling by name.
        self.fn_module = getattr(target, "__module__", None)
        self.fn_name = getattr(target, "__qualname__", getattr(target, "__name__", None))
        #: The module a script's functions would be imported from, for names and records.
        self.module_name = importable_module_name(self.fn_module)
        short = getattr(target, "__name__", None) or repr(target)
        # The original library's default: module and __name__ (not __qualname__).
        self.name = name or (f"{self.module_name}.{short}" if self.module_name else short)
        # Composite members add "_<key>" to the name; the column holds 255 characters.
        check_text(self.name, "the artifact name (name=)", MAX_NAME - 55)
        #: The step of a run the calls are recorded under: a Metaflow-style short name.
        self.step = name or short
        if name is None:
            _claim_default_name(self.name, self.fn_name)
        self.version = 0 if version is None else version
        #: Whether the version, rather than the code, identifies the results.
        self.version_given = version is not None
        self.repo = repo
        self.returns_composite = bool(returns_composite)
        self.archive_file = bool(archive_file)
        self.delete_original_file = bool(delete_original_file)
        self.preserve_file_ext = bool(preserve_file_ext)
        self.serializer = serializer
        self.load_kwargs = dict(load_kwargs) if load_kwargs else None
        self.dump_kwargs = dict(dump_kwargs) if dump_kwargs else None
        self.use_cache = use_cache
        if read_only is not None and not isinstance(read_only, bool):
            raise TypeError(f"read_only must be True, False or None, got {read_only!r}")
        self.read_only = read_only
        self.tags = check_tags([str(t) for t in tags] if tags else [], "tags")
        if custom_fields is not None and not isinstance(custom_fields, Mapping):
            raise TypeError(f"custom_fields must be a dict, got {type(custom_fields).__name__}")
        fields = dict(custom_fields or {})
        if self.tags:
            fields["tags"] = self.tags
        # Stored in JSON columns: refused now, not after the first call has run.
        self.custom_fields = check_json(fields, "custom_fields")
        check_json(self.load_kwargs, "load_kwargs")
        if self.load_kwargs and "mmap_mode" in self.load_kwargs:  # a map must not write
            check_map_mode("load_kwargs['mmap_mode']", self.load_kwargs["mmap_mode"])
        check_json(self.dump_kwargs, "dump_kwargs")
        # A function made by with_merged_defaults says which parameters merge.
        if merge_defaults is None:
            merge_defaults = getattr(fn, "__merge_defaults__", None)
        self._signature = sig = CallSignature(fn, merge_defaults)
        self._input_hash_fn = remove_inputs_fn(sig.names_in("ignore", ignore)) or input_hash_fn
        removed = remove_inputs_fn(sig.names_in("remove", remove))
        self._input_process_fn = removed or input_process_fn
        #: By artifact name.  Both this and the fingerprint belong to one
        #: config.generation(), and are dropped when it changes.
        self._id_prefixes: dict[str, str] = {}
        self._code: CodeFingerprint | None = None
        self._code_generation = _config._generation[0]
        self._code_warned = False
        self._path_warned: set[str] = set()
        functools.update_wrapper(self, target)
        self.__wrapped__ = fn

    # -- identity ------------------------------------------------------------------

    def _repo(self) -> Any:
        return _config.resolve_repo(self.repo)

    @property
    def _provenance_function_(self) -> Callable[..., Any]:
        # Read by provenance.fingerprint: a decorated helper's own code counts.
        return self._fn

    def code_fingerprint(self) -> CodeFingerprint:
        """The fingerprint of the function's code (made once per process, on first need).

        See :mod:`provenance.fingerprint` for what it covers.
        """
        if self._code_generation != _config._generation[0]:
            self._new_generation()
        code = self._code
        if code is None:
            try:
                code = self._fingerprint()
            except Exception as exc:  # a bug in the walk must not stop the call
                logger.warning("cannot fingerprint the code of %s: %r", self.name, exc)
                # Never a constant: a stale hit is worse than a recomputation.
                text = f"# the code of {self.fn_module}.{self.fn_name} could not be read: {exc!r}"
                code = CodeFingerprint(hash_bytes(text.encode() + os.urandom(16)), text)
            self._code = code
        return code

    def _fingerprint(self) -> CodeFingerprint:
        # What code_fingerprint() caches; a flow step's leaves its sibling steps out.
        return code_fingerprint(self._fn)

    def _new_generation(self) -> None:
        # A notebook cell ran (it may have redefined a helper) or the code
        # identity mode changed: the fingerprint and the id prefixes made
        # before are dropped, and made again on need.
        self._code = None
        self._id_prefixes.clear()
        self._code_generation = _config._generation[0]

    def _code_in_id(self) -> bool:
        mode = _config.settings.code_identity
        return mode == "always" or (mode == "auto" and not self.version_given)

    def _inputs(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[tuple[Any, ...], dict[str, Any]]]:
        try:
            varargs, kargs, call_args, call_kwargs = self._signature.bind(args, kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}(): {exc}") from None
        # varargs is a tuple, as the original library gave it (to input_process_fn too).
        inputs = {"kargs": kargs, "varargs": tuple(varargs)}
        if self._input_process_fn is not None:
            inputs = self._input_process_fn(inputs)
        return inputs, (call_args, call_kwargs)

    def _hash_inputs(
        self, inputs: dict[str, Any], *, check: bool = True, plain: set[int] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The argument hashes the id is made from, and the raw ones (before ``input_hash_fn``).

        A proxy whose value was changed in place is hashed as what it holds
        now; with ``check`` it is reported (a warning, or an error under
        ``set_check_mutations(True)``) and recorded as a plain value: the ids
        of such proxies are added to ``plain``.
        """
        changed = changed_proxies()
        if changed:
            changed.clear()
        kargs: dict[str, str] = {}
        for name, value in inputs["kargs"].items():
            try:
                kargs[name] = hash_value(value)
            except HashingError as exc:
                raise HashingError(
                    f"{self.name}(): cannot hash parameter {name!r}: {exc}"
                ) from None
        varargs = []
        for i, value in enumerate(inputs["varargs"]):
            try:
                varargs.append(hash_value(value))
            except HashingError as exc:
                raise HashingError(
                    f"{self.name}(): cannot hash positional argument {i} (*args): {exc}"
                ) from None
        if changed and check:
            # Rare: say which argument holds each changed proxy (hashing it again).
            for name, value in inputs["kargs"].items():
                found = proxies_changed_in(value)
                if found:
                    inputs["kargs"][name] = report_changed_proxies(
                        self, found, value, repr(name), plain
                    )
            varargs_in = list(inputs["varargs"])
            for i, value in enumerate(varargs_in):
                found = proxies_changed_in(value)
                if found:
                    varargs_in[i] = report_changed_proxies(self, found, value, f"*args[{i}]", plain)
            inputs["varargs"] = tuple(varargs_in)
        raw = {"kargs": kargs, "varargs": varargs}
        hashes = raw
        if self._input_hash_fn is not None:
            hashes = self._input_hash_fn({"kargs": dict(kargs), "varargs": list(varargs)})
        return hashes, raw

    def _artifact_id(self, name: str, input_hashes: Mapping[str, Any]) -> str:
        # A canonical text of the call: scheme, name, version, the code
        # fingerprint when it identifies the code, then the argument hashes
        # by parameter name.  Lengths prefix the free-form parts so no two
        # calls can spell the same text.
        kargs = input_hashes["kargs"]
        if self._code_generation != _config._generation[0]:
            self._new_generation()
        prefix = self._id_prefixes.get(name)
        if prefix is None:
            prefix = f"{HASH_SCHEME}\n{len(name)}:{name}\n{self.version}"
            if self._code_in_id():
                prefix += f"\ncode:{self.code_fingerprint().digest}"
            self._id_prefixes[name] = prefix
        parts = [prefix]
        parts.extend(f"{len(k)}:{k}={kargs[k]}" for k in sorted(kargs))
        parts.append("*")
        parts.extend(input_hashes["varargs"])
        return hash_bytes("\n".join(parts).encode())

    def artifact_id(self, *args: Any, **kwargs: Any) -> str:
        """The id a call with these arguments has (nothing runs, nothing is loaded)."""
        inputs, _ = self._inputs(args, kwargs)
        return self._artifact_id(self.name, self._hash_inputs(inputs, check=False)[0])

    def in_cache(self, *args: Any, **kwargs: Any) -> bool:
        """Whether a call with these arguments would be served from the repo."""
        return self._repo().lookup(self.artifact_id(*args, **kwargs)) is not None

    def forget(self, *args: Any, **kwargs: Any) -> bool:
        """Delete the stored artifact of this call, if any (nothing runs); whether it was.

        Its blobs go too unless another artifact shares them (see
        :mod:`provenance.storage.eviction`).  Raises
        :class:`~provenance.PermissionDenied` if the repo may not delete, or
        the artifact is in a saved set (``provenance rm --force`` deletes it).
        """
        artifact_id = self.artifact_id(*args, **kwargs)
        found = delete_artifacts(self._repo(), [artifact_id], sharing=_config.indexes_sharing)
        return artifact_id in found.removed

    def clear(self, *, force: bool = False) -> Removal:
        """Delete every stored artifact of this function's name (every version, composite members).

        Members of saved sets are left, and listed in the report's
        ``protected``, unless ``force``.  Raises
        :class:`~provenance.PermissionDenied` if the repo may not delete.
        """
        repo = self._repo()
        return delete_artifacts(repo, function_ids(repo, self.name), force=force,
                                skip_protected=True, sharing=_config.indexes_sharing)  # fmt: skip

    def why(self, *args: Any, **kwargs: Any) -> Any:
        """Explain whether a call with these arguments would be a hit, and if not, why.

        Compares the call's identity (name, version, code, arguments) with
        the nearest stored artifact of the same function.  Nothing runs.

        Returns
        -------
        provenance.why.Explanation
            Its ``str()`` is a readable account, with a diff of the code when it changed.
        """
        return explain_call(self, args, kwargs)

    # -- calling -------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        repo = self._repo()
        began = time.time()
        start = time.perf_counter()
        inputs, call = self._inputs(args, kwargs)
        plain: set[int] = set()  # proxies changed in place: recorded as plain values
        input_hashes, raw_hashes = self._hash_inputs(inputs, plain=plain)
        artifact_id = self._artifact_id(self.name, input_hashes)
        input_id_duration = time.perf_counter() - start

        use_cache = _config.settings.use_cache if self.use_cache is None else self.use_cache
        read_only = _config.settings.read_only if self.read_only is None else self.read_only
        record_task = not read_only and _config.settings.record_tasks  # a task of the run
        replace = not use_cache
        repair = False
        if use_cache and repo.read:
            artifact = repo.lookup(artifact_id)
            if artifact is not None:
                try:
                    proxy = artifact.proxy()
                except (BlobNotFound, CorruptBlob) as exc:
                    warnings.warn(f"{exc}; recomputing it", RuntimeWarning, stacklevel=2)
                    replace = repair = True
                else:
                    if artifact_observers.get() and isinstance(proxy, CompositeDict):
                        # As when computed: the members first, then the composite.
                        found = artifact.repo.get_artifacts(proxy.member_ids.values())
                        for member_id in proxy.member_ids.values():
                            if member_id in found:
                                notify(found[member_id])
                    notify(artifact)
                    if self.version_given and not self._code_warned:
                        warn_if_code_changed(self, artifact)
                    if record_task:
                        _runs.record(repo, self.step, artifact_id, cached=True, started=began)
                    return proxy

        try:
            result, made = self._compute(
                repo, artifact_id, inputs, (input_hashes, raw_hashes, plain), call,
                input_id_duration, replace, repair, read_only,
            )  # fmt: skip
        except BaseException as exc:
            if not record_task:
                raise
            # A call that raised is a failed task of the run; its arguments
            # are kept since there is no artifact to hold them.
            params = input_summary(inputs)
            _runs.record(
                repo, self.step, None, cached=False, started=began, exception=exc, params=params
            )
            raise
        if record_task:
            _runs.record(repo, self.step, made, cached=False, started=began)
        return result

    def _compute(
        self,
        repo: Any,
        artifact_id: str,
        inputs: dict[str, Any],
        hashes: tuple[dict[str, Any], dict[str, Any], set[int]],
        call: tuple[tuple[Any, ...], dict[str, Any]],
        input_id_duration: float,
        replace: bool,
        repair: bool,
        read_only: bool = False,
    ) -> tuple[Any, str | None]:
        """Run the function and store its value: the proxy and the artifact id stored."""
        input_hashes, raw_hashes, plain = hashes
        code = self.code_fingerprint()  # before the call: its globals as they are now
        get_run_info()  # made (and checked) once per process: a bad one fails before the call
        warn_path_arguments(self, inputs, input_hashes)
        computed_at = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        value = self._signature.target(*call[0], **call[1])
        compute_duration = time.perf_counter() - t0

        # Always, as in the original library: an impure function's result would be
        # recorded against inputs it no longer has (set_check_mutations does not
        # turn this off; it decides how changed proxies are reported).
        check_impure(self, inputs, raw_hashes)

        record = {
            "code": code,
            "plain": plain,
            "repair": repair,
            "inputs": inputs,
            "input_hashes": input_hashes,
            "raw_hashes": raw_hashes,  # the values' own: what stored inputs are keyed by
            "computed_at": computed_at,
            "compute_duration": compute_duration,
            "input_id_duration": input_id_duration,
            "read_only": read_only,
            "unstorable": "warn",  # a value that cannot be stored is returned, with a warning
        }
        if self.returns_composite:
            composite = store_composite(self, repo, artifact_id, value, record, replace)
            return composite, composite.artifact.id
        if self.archive_file:
            archived = store_archive(self, repo, artifact_id, value, record, replace)
            return archived, getattr(getattr(archived, "artifact", None), "id", None)
        artifact = store_value(
            self, repo, artifact_id, self.name, value, record, replace, self.serializer
        )
        notify(artifact)
        return artifact.proxy(), artifact.id

    # -- descriptor and pickling -----------------------------------------------------

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        # Decorating a method: bind like a function does, so ``self`` is an
        # argument (hashed by its state).
        if instance is None:
            return self
        return types.MethodType(self, instance)

    def _with_repo(self, repo: Any) -> ProvenanceFunction:
        # Not copy.copy: that would go through __reduce__ and come back here.
        bound = object.__new__(ProvenanceFunction)
        bound.__dict__.update(self.__dict__)
        bound.repo = repo
        return bound

    def __reduce__(self) -> Any:
        # A function sent to a worker process carries the repo it uses here
        # (by its config), so the worker reads and writes the same repo with
        # no set-up code of its own.
        repo = _config.repo_for_workers() if self.repo is None else self._repo()
        spec = repo.shareable_spec() if hasattr(repo, "shareable_spec") else None
        # The worker's calls become tasks of the run they are made for.
        run_ref = None
        if spec is not None:
            try:
                run_ref = _runs.ref_for_workers(repo)
            except Exception as exc:  # bookkeeping never stops a function being sent
                logger.warning("the run of %s is not sent to workers: %s", self.name, exc)
        module = sys.modules.get(self.fn_module or "")
        qualname = self.fn_name or ""
        obj: Any = module
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if obj is self:
            # Importable by name: pickle by reference.
            return (_import_function, (self.fn_module, qualname, spec, run_ref))
        options = {k: v for k, v in self._options.items() if k != "repo"}
        return (_rebuild, (self._fn, options, spec, run_ref))

    def __repr__(self) -> str:
        return f"<provenance.ProvenanceFunction {self.name} v{self.version}>"


def _bind_spec(function: ProvenanceFunction, spec: Any, run_ref: Any = None) -> ProvenanceFunction:
    if spec is None:
        return function
    repo = repo_from_spec(spec)
    if run_ref is not None:
        _runs.adopt(tuple(run_ref), repo)
    if (
        function.repo is None
        and _config._current is not None
        and (_config.get_default_repo() is repo)
    ):
        return function
    return function._with_repo(repo)


def _import_function(
    module: str, qualname: str, spec: Any, run_ref: Any = None
) -> ProvenanceFunction:
    import importlib

    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return _bind_spec(obj, spec, run_ref)


def _rebuild(
    fn: Callable[..., Any], options: dict[str, Any], spec: Any, run_ref: Any = None
) -> ProvenanceFunction:
    return _bind_spec(ProvenanceFunction(fn, **options), spec, run_ref)


def provenance(
    version: Any = None,
    repo: Any = None,
    name: str | None = None,
    merge_defaults: Any = None,
    ignore: Iterable[str] | None = None,
    input_hash_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    remove: Iterable[str] | None = None,
    input_process_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    archive_file: bool = False,
    delete_original_file: bool = False,
    preserve_file_ext: bool = False,
    returns_composite: bool = False,
    custom_fields: Mapping[str, Any] | None = None,
    serializer: str | Mapping[str, str] | None = None,
    load_kwargs: Mapping[str, Any] | None = None,
    dump_kwargs: Mapping[str, Any] | None = None,
    use_cache: bool | None = None,
    read_only: bool | None = None,
    tags: Iterable[str] | None = None,
) -> Any:
    """Cache and record every call of the decorated function.

    Usable as ``@provenance``, ``@provenance()`` or ``@provenance(version=2, ...)``.

    Parameters
    ----------
    version : int, optional
        Without it (the default) the function's code fingerprint identifies
        its results: editing the function, a helper it calls or a constant
        it reads gives new ids.  With it, the version does (as in the original
        library): bump it when a change alters results; a hit computed by
        other code warns once.  See :func:`set_code_identity`.
    repo : Repository or str, optional
        Where artifacts are stored; the default repo when omitted.
    name : str, optional
        The artifact name; ``module.function`` by default (a script's module
        is the one its file would be imported as).
    merge_defaults : bool or list of str
        Merge dict arguments into the parameter's default dict (all dict
        defaults when True, or the named parameters).
    ignore : collection of str
        Parameters left out of the id (still recorded).
    input_hash_fn : callable
        Rewrites ``{'kargs': {name: hash}, 'varargs': [hash, ...]}`` before the
        id is computed (``ignore`` is the common case).
    remove : collection of str
        Parameters neither hashed nor recorded.
    input_process_fn : callable
        Rewrites ``{'kargs': {...}, 'varargs': [...]}`` of argument values before
        hashing and recording (``remove`` is the common case).
    archive_file, delete_original_file, preserve_file_ext : bool
        Treat the return value as a file path to archive into the repo.
    returns_composite : bool
        The function returns a dict whose values become separate artifacts.
    custom_fields : dict
        JSON-serializable fields saved with each artifact, for queries.
    serializer : str or dict
        ``'joblib'`` (default), ``'cloudpickle'`` or a registered serializer
        name; for composites, a dict of key to serializer.
    load_kwargs, dump_kwargs : dict
        Passed to the serializer.
    use_cache : bool, optional
        False runs the function on every call (still recording it); None
        follows :func:`set_use_cache`.
    read_only : bool, optional
        True uses the stored results but stores nothing: a miss runs the
        function and returns its value as a proxy whose artifact is not in
        the repo, and no task is recorded (for consuming a repo made
        elsewhere).  None follows :func:`set_read_only`.
    tags : collection of str
        Saved under ``custom_fields['tags']`` and indexed.

    Returns
    -------
    ProvenanceFunction
        Calling it returns an :class:`~provenance.ArtifactProxy`.
    """
    if callable(version) and not isinstance(version, int):
        # Bare ``@provenance`` without parentheses.
        return ProvenanceFunction(version)
    options = {
        "version": version, "repo": repo, "name": name,
        "merge_defaults": merge_defaults, "ignore": ignore,
        "input_hash_fn": input_hash_fn, "remove": remove,
        "input_process_fn": input_process_fn, "archive_file": archive_file,
        "delete_original_file": delete_original_file,
        "preserve_file_ext": preserve_file_ext,
        "returns_composite": returns_composite, "custom_fields": custom_fields,
        "serializer": serializer, "load_kwargs": load_kwargs,
        "dump_kwargs": dump_kwargs, "use_cache": use_cache, "read_only": read_only,
        "tags": tags,
    }  # fmt: skip

    def decorate(fn: Callable[..., Any]) -> ProvenanceFunction:
        return ProvenanceFunction(fn, **options)

    return decorate
