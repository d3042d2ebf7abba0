"""The public surface: __all__ is exact, imports stay light, processes share caches."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import provenance as p

ORIGINAL_API = [
    # Primary API of the original library.
    "provenance", "load_artifact", "load_proxy", "ensure_proxies",
    # Configuration.
    "from_config", "load_config", "load_yaml_config", "current_config", "get_repo_by_name",
    "set_default_repo", "get_default_repo", "set_check_mutations", "get_check_mutations",
    "set_run_info_fn", "get_use_cache", "set_use_cache", "using_repo",
    "get_read_only", "set_read_only",
    # Utils.
    "is_proxy", "lazy_dict", "lazy_proxy_dict",
    "register_serializer",
    # Hashing (its hashing-and-mutation guide and tests use them).
    "hash", "value_repr",
]  # fmt: skip


def test_all_matches_the_public_names() -> None:
    public = {n for n in dir(p) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(p, n)).__name__ == "module"}
    # provenance.hash is the original's name, kept out of __all__ so that a star
    # import does not shadow the built-in hash().
    assert set(p.__all__) == (public - modules - {"hash"}) | {"__version__"}
    assert p.hash is p.hashing.hash
    assert len(p.__all__) == len(set(p.__all__))


def test_original_api_is_present() -> None:
    for name in ORIGINAL_API:
        assert callable(getattr(p, name)), name


def test_error_hierarchy() -> None:
    for name in dir(p.errors):
        obj = getattr(p.errors, name)
        if isinstance(obj, type) and issubclass(obj, Warning):
            assert issubclass(obj, p.ProvenanceWarning)
        elif isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, p.ProvenanceError)
    assert issubclass(p.ArtifactNotFound, KeyError)
    assert issubclass(p.ConfigError, ValueError)


def test_import_is_light() -> None:
    code = textwrap.dedent(
        """
        import sys
        import provenance
        heavy = [m for m in ("boto3", "botocore", "psycopg", "psycopg2", "graphviz",
                             "pandas", "numpy", "pyarrow", "networkx", "alembic", "joblib",
                             "cloudpickle")
                 if m in sys.modules]
        print(",".join(heavy))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


SCRIPT = textwrap.dedent(
    """
    import sys
    import provenance as p

    # Counted in a module of its own: a global the functions read would be
    # part of their code fingerprints, by value.
    sys.ran = 0

    @p.provenance(version=1)
    def load_data(path, n_rows=None):
        sys.ran += 1
        return list(range(100))

    @p.provenance()
    def train(data, alpha=0.1):
        sys.ran += 1
        return sum(data) * alpha

    data = load_data("iris.csv")
    model = train(data, alpha=0.5)
    print(model.artifact.id, data.artifact.id, sys.ran)
    """
)


def test_second_process_gets_cache_hits(tmp_path: Any) -> None:
    script = tmp_path / "pipeline.py"
    script.write_text(SCRIPT)
    env = {"PROVENANCE_HOME": str(tmp_path / "store"), "PATH": "/usr/bin:/bin"}

    def run() -> list[str]:
        out = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    first = run()
    second = run()
    assert first[2] == "2"
    assert second[2] == "0"  # nothing ran: both calls were cache hits
    assert first[:2] == second[:2]

    loader = (
        f"import provenance as p; v = p.load_proxy({first[0]!r}); "
        "print(v, v.artifact.input_artifact_ids[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", loader], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.stdout.split() == ["2475.0", first[1]]


#: Names that pickles written before the layout change refer to, with the
#: objects they must still resolve to: recorded inputs (``_identity``), stored
#: values that hold proxies or artifacts, and pickled repositories.
OLD_PICKLE_NAMES = [
    ("provenance.inputs", "_identity", "provenance.storage.inputs"),
    ("provenance.artifact", "_proxy_of", "provenance.storage.proxies"),
    ("provenance.artifact", "_detached_artifact", "provenance.storage.artifact"),
    ("provenance.artifact", "ArtifactProxy", "provenance.storage.proxies"),
    ("provenance.artifact", "Artifact", "provenance.storage.artifact"),
    ("provenance.archive", "ArchivedFile", "provenance.storage.archived"),
    ("provenance.repos", "repo_from_spec", "provenance.storage.repos"),
    ("provenance.repos", "artifact_from_spec", "provenance.storage.repos"),
    ("provenance.repos", "Repository", "provenance.storage.repos"),
    ("provenance.sets", "ArtifactSet", "provenance.verbs.sets"),
    ("provenance.gc", "GcReport", "provenance.verbs.gc"),
    ("provenance.verify", "VerifyReport", "provenance.verbs.verify"),
    ("provenance.blobstores.disk", "DiskStore", "provenance.storage.blobstores.disk"),
    ("provenance.blobstores.memory", "MemoryStore", "provenance.storage.blobstores.memory"),
    ("provenance.blobstores.s3", "S3Store", "provenance.storage.blobstores.s3"),
    ("provenance.client", "Run", "provenance.flows.client.objects"),
    ("provenance.runs", "ActiveRun", "provenance.flows.runs"),
    ("provenance.index", "SqlIndex", "provenance.storage.index"),
]


def test_names_in_pickles_written_before_the_layout_change_still_load() -> None:
    import importlib
    import pickle

    for module, name, home in OLD_PICKLE_NAMES:
        # Protocol 0's GLOBAL opcode: exactly what a pickle stores for a
        # function or class, by module and name.
        found = pickle.loads(f"c{module}\n{name}\n.".encode())
        assert found is getattr(importlib.import_module(home), name), (module, name)


#: The hashes the old layout (before the wings) gave these classes.  A call
#: that takes an instance (a set, a repository, a blobstore, a client
#: object) hashes the class by module and name, so a moved class that
#: reported its new module would change those calls' ids.
OLD_LAYOUT_CLASS_HASHES = {
    "provenance.sets:ArtifactSet": "ccccf24198b887c7fdbcdab7eb96849f",
    "provenance.sets:SetCapture": "52bbb7b14882d9cd715cc6af193bb5dd",
    "provenance.repos:Repository": "66fa893c045f7cfa307c69066e1833f7",
    "provenance.repos:ChainedRepository": "13c2d4876348a572f486fa596be371cb",
    "provenance.artifact:Artifact": "cf06aee2965dcf246c177b4fd5b23cd7",
    "provenance.artifact:ArtifactProxy": "a5f37b20d10ff044ef3842502adff428",
    "provenance.artifact:CompositeDict": "bd66483a7a80831f324dfa1528c27fed",
    "provenance.artifact:LazyDict": "42f595ac2b7b2ee0f736196c89a79f44",
    "provenance.archive:ArchivedFile": "a148d02eb0067ba630407c919ff60675",
    "provenance.blobstores.disk:DiskStore": "97e572c4ff1a101e77186d4f867ddc99",
    "provenance.blobstores.memory:MemoryStore": "1d2ff4f0b174915388662e2c69f74233",
    "provenance.blobstores.chained:ChainedStore": "80e2e321b26e2916538fb677d7e894e4",
    "provenance.blobstores.s3:S3Store": "af094257253bf1b2aec9e4208efaf1a1",
    "provenance.client:Run": "b4f4e12b4a1974213c5b58d4a54f958d",
    "provenance.client:Flow": "f81e7fbf7806fabf626433b6cee0156b",
    "provenance.client:DataArtifact": "3d328c101318e7fe8e77be802701f319",
    "provenance.index:SqlIndex": "e7571ef99bff6b62f2058b7f8e86642e",
    "provenance.gc:GcReport": "db4d902cafba218a90ca28bcbfc75b9d",
    "provenance.verify:VerifyReport": "e89454e4dadf73239051c1edbde7950b",
    "provenance.runs:ActiveRun": "5ae3cc2f75191a7484625dddf97008a2",
    "provenance.serializers:Serializer": "5e361b7b7ab2712c989c91bb71f02aba",
}


def test_moved_classes_hash_as_they_did_before_the_layout_change() -> None:
    import importlib

    for path, expected in OLD_LAYOUT_CLASS_HASHES.items():
        module, name = path.split(":")
        assert p.hash_value(getattr(importlib.import_module(module), name)) == expected, path


def test_reconstructors_keep_their_old_module_names() -> None:
    # Repositories and artifacts pickle and hash through these functions,
    # by module and name.
    from provenance.storage import artifact, proxies, repos

    assert repos.repo_from_spec.__module__ == "provenance.repos"
    assert repos.artifact_from_spec.__module__ == "provenance.repos"
    assert proxies._proxy_of.__module__ == "provenance.artifact"
    assert artifact._detached_artifact.__module__ == "provenance.artifact"


def test_the_old_module_paths_still_import() -> None:
    import importlib

    import provenance.blobstores.disk
    import provenance.sets

    assert provenance.sets is importlib.import_module("provenance.verbs.sets")
    assert provenance.blobstores.disk.DiskStore is p.DiskStore
    assert p.vis.visualize_lineage is p.visualize_lineage
    assert p.blobstores.S3Store.__name__ == "S3Store"
    assert callable(importlib.import_module("provenance.runs").end_implicit_runs)
    for old, new in p._legacy.MOVED.items():
        assert importlib.import_module(old) is importlib.import_module(new), old


def test_the_original_librarys_module_paths_and_names() -> None:
    """Issue 14, gap 11: every name the original's users import, each the real thing."""
    import importlib

    import provenance.vis as vis

    import provenance.core as core
    import provenance.hashing as hashing
    import provenance.repos as repos
    from provenance.storage import original_repos

    assert core.provenance is p.provenance
    assert core.ImpureFunctionError is p.ImpureFunctionError
    assert core.MutatedArtifactValueError is p.MutatedArtifactValueError
    assert core.run_info() is p.get_run_info() and core.run_info()["host"]
    assert repos.ArtifactSet is p.ArtifactSet and repos.Config is p.Config
    assert repos.MemoryRepo is original_repos.MemoryRepo
    assert repos.DbRepo is repos.PostgresRepo is original_repos.PostgresRepo
    assert issubclass(repos.ChainedRepo, p.ChainedRepository)
    for name in ("load_set_by_labels", "label_set", "create_set"):
        assert getattr(repos, name) is getattr(p, name), name
    assert (
        repos.transform_value
        is importlib.import_module("provenance.storage.proxies").transform_value
    )
    assert repos.get_read_only is p.get_read_only and repos.set_read_only is p.set_read_only
    assert hashing.hash is p.hash and hashing.value_repr is p.value_repr
    assert vis.visualize_lineage is p.visualize_lineage
    assert p.load_set_by_labels and p.label_set
    # The original's classes report its module path, as every moved class does.
    assert repos.MemoryRepo.__module__ == "provenance.repos"
    for module in (core, repos):
        for name in module.__all__:
            assert getattr(module, name) is not None, (module.__name__, name)


def test_split_names_are_exactly_what_the_old_paths_offer() -> None:
    """``_legacy.SPLIT_NAMES`` is static: it must match the re-export modules."""
    import ast
    import importlib

    for new, old in p._legacy.SPLIT.items():
        module = importlib.import_module(new)
        legacy = importlib.import_module(old)
        with open(str(module.__file__)) as f:
            tree = ast.parse(f.read())
        defined = {
            node.name: getattr(module, node.name)
            for node in tree.body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef))
        }
        offered = {name for name, obj in defined.items() if getattr(legacy, name, None) is obj}
        reported = {name for name, obj in defined.items() if obj.__module__ == old}
        assert offered == reported, new
        assert reported <= p._legacy.SPLIT_NAMES[new], new


def test_import_provenance_imports_nothing_heavy() -> None:
    """Names are imported on first use: ``import provenance`` loads three modules."""
    import subprocess
    import sys

    code = (
        "import sys, types, provenance\n"
        "print(sorted(m for m, mod in sys.modules.items() if m.split('.')[0] in "
        "('provenance', 'sqlalchemy', 'yaml', 'wrapt', 'xxhash', 'cloudpickle', 'joblib')"
        " and type(mod) is types.ModuleType))\n"  # not those put there unexecuted
        "provenance.Repository\n"
        "print(provenance.Repository.__module__, 'provenance.storage.repos' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert (
        out[0] == "['provenance', 'provenance._legacy', 'provenance._version', 'provenance.verbs']"
    )
    assert out[1] == "provenance.repos True"
