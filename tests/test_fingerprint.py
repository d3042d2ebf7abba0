"""Code fingerprints (provenance.fingerprint): what they cover, what they ignore, pinned values.

Each variant of a module is written to its own directory and imported under
the same module name, as an edited file would be in a new process.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provenance.fingerprint import code_fingerprint, importable_module_name

BASE = '''
import functools
import json

SCALE = 3
NAMES = ("a", "b")
LIMITS = {"low": 1, "high": 9}


def helper(x):
    """Doubles."""
    return x * 2


class Model:
    k = 2

    def fit(self, x):
        return helper(x) + self.k


def train(n):
    # the entry point
    m = Model()
    return m.fit(n) * SCALE + len(NAMES) + LIMITS["high"] + len(json.dumps(n))


def make_closure(factor):
    def scaled(x):
        return x * factor
    return scaled


def power(x, exponent):
    return x ** exponent


squared = functools.partial(power, exponent=2)
'''


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Any]:
    """``load(source)`` imports ``source`` as module ``fpmod`` from a fresh directory."""
    made: list[str] = []

    def _load(source: str, name: str = "fpmod") -> Any:
        folder = tmp_path / f"v{len(made)}"
        folder.mkdir()
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
        sys.modules.pop(name, None)
        sys.path.insert(0, str(folder))
        made.append(str(folder))
        try:
            importlib.invalidate_caches()
            return importlib.import_module(name)
        finally:
            sys.path.remove(str(folder))

    yield _load
    sys.modules.pop("fpmod", None)


def fp(module: Any, name: str = "train") -> str:
    return code_fingerprint(getattr(module, name)).digest


# Pinned: a change here changes every default id; bump FINGERPRINT_SCHEME (and
# HASH_SCHEME) with it and say so in docs/migrating.rst.
GOLDEN = {
    "train": "8f6d1700a332939a3b804459131d3f3e",
    "helper": "7caef4fb163694034e1858836b837fa4",
}


def test_fingerprints_are_pinned(load: Any) -> None:
    mod = load(BASE)
    assert {name: fp(mod, name) for name in GOLDEN} == GOLDEN


def test_the_same_code_gives_the_same_fingerprint_in_another_process(
    load: Any, tmp_path: Path
) -> None:
    import subprocess

    mod = load(BASE)
    folder = Path(mod.__file__).parent
    code = "import fpmod; from provenance.fingerprint import code_fingerprint as c; " \
        "print(c(fpmod.train).digest)"  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(folder)},
    )
    assert out.stdout.strip() == fp(mod)


@pytest.mark.parametrize(
    "old, new",
    [
        ("    # the entry point\n", ""),  # a comment
        ('    """Doubles."""\n', '    """Doubles its argument, carefully."""\n'),  # a docstring
        ("    return x * 2\n", "    return (x *\n            2)\n"),  # formatting
        ("def helper(x):\n", "def helper(x):  # noqa\n"),
        ("\n\nclass Model:", "\n\n\n\n\nclass Model:"),  # blank lines move every line number
    ],
)
def test_comments_docstrings_and_formatting_do_not_count(load: Any, old: str, new: str) -> None:
    assert old in BASE
    assert fp(load(BASE)) == fp(load(BASE.replace(old, new)))


@pytest.mark.parametrize(
    "old, new",
    [
        ("return x * 2", "return x * 2 + 0"),  # a helper it calls
        ("k = 2", "k = 3"),  # a class attribute of a class it uses
        ("return helper(x) + self.k", "return helper(x) - self.k"),  # a method
        ("SCALE = 3", "SCALE = 4"),  # a module-level number it reads
        ('NAMES = ("a", "b")', 'NAMES = ("a", "b", "c")'),  # a tuple
        ('"high": 9', '"high": 10'),  # a dict of constants
        ("* SCALE +", "* SCALE -"),  # its own code
    ],
)
def test_what_it_reaches_counts(load: Any, old: str, new: str) -> None:
    assert old in BASE
    assert fp(load(BASE)) != fp(load(BASE.replace(old, new)))


def test_a_mutable_global_counts_by_its_value_when_fingerprinted(load: Any) -> None:
    source = """
    import threading
    from collections import OrderedDict

    BASE = {"lr": 0.1}
    PARAMS = dict(BASE, momentum=0.9)
    PARAMS.update(decay=0.5)
    LOCK = threading.Lock()

    def step(x):
        with LOCK:
            return x * PARAMS["lr"] * PARAMS["decay"]
    """
    before = fp(load(source), "step")
    assert fp(load(source.replace("decay=0.5", "decay=0.7")), "step") != before  # by value
    assert fp(load(source.replace('"lr": 0.1', '"lr": 0.2')), "step") != before
    # A value that cannot be hashed counts by the statement that makes it.
    assert fp(load(source.replace("threading.Lock()", "threading.RLock()")), "step") != before
    assert "LOCK: _thread.lock, not hashable, made by" in code_fingerprint(load(source).step).source


def test_wrapped_and_stored_callables_are_followed(load: Any) -> None:
    source = """
    import functools

    @functools.lru_cache(maxsize=None)
    def factor():
        return 2

    def double(x):
        return x * 2

    OPS = {"double": double}

    class Config:
        @functools.cached_property
        def scale(self):
            return 3

    def run(x, op="double"):
        return OPS[op](x) * factor() * Config().scale
    """
    before = fp(load(source), "run")
    assert fp(load(source.replace("return 2\n", "return 5\n")), "run") != before  # lru_cache
    assert fp(load(source.replace("return x * 2", "return x * 4")), "run") != before  # in a dict
    assert fp(load(source.replace("return 3", "return 4")), "run") != before  # cached_property


def test_module_attributes_are_followed_from_every_function(load: Any, tmp_path: Path) -> None:
    helpers = tmp_path / "fp_helpers_mod.py"
    helpers.write_text("def scale(x):\n    return x * 2\n\ndef offset(x):\n    return x + 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        source = """
        import fp_helpers_mod

        def prepare(x):
            return fp_helpers_mod.scale(x)

        def compute(x):
            return prepare(x) + fp_helpers_mod.offset(x)
        """
        found = code_fingerprint(load(source).compute)
        assert "def fp_helpers_mod.scale" in found.source
        assert "def fp_helpers_mod.offset" in found.source
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fp_helpers_mod", None)


def test_an_enum_counts_by_its_values(load: Any) -> None:
    source = """
    import enum

    class Rate(enum.Enum):
        LOW = 2
        HIGH = 5

    def cost(n):
        return n * Rate.LOW.value
    """
    assert fp(load(source), "cost") != fp(load(source.replace("LOW = 2", "LOW = 3")), "cost")


def test_classes_that_refer_to_each_other_terminate(load: Any) -> None:
    source = """
    class Node:
        pass

    class Tree:
        node_class = Node

    Node.tree_class = Tree

    def depth(n):
        return n + 1 + len(Tree.__name__)
    """
    before = code_fingerprint(load(source).depth)
    assert "opaque" not in before.source
    assert before.digest != fp(load(source.replace("n + 1", "n + 2")), "depth")


def test_an_object_that_cannot_be_inspected_never_gives_a_stale_fingerprint(load: Any) -> None:
    source = """
    class Lazy:
        def __getattr__(self, name):
            raise RuntimeError("working outside of application context")

        def __call__(self):
            return 1

        def __reduce_ex__(self, protocol):
            raise RuntimeError("working outside of application context")

    current = Lazy()

    def report(n):
        return n * 2 + current()
    """
    found = code_fingerprint(load(source).report)
    edited = code_fingerprint(load(source.replace("n * 2", "n * 3")).report)
    assert found.digest != edited.digest  # its own code still counts


def test_a_file_edited_after_import_is_not_taken_for_the_running_code(load: Any) -> None:
    mod = load(BASE)
    before = fp(mod)
    path = Path(mod.__file__)
    path.write_text(path.read_text().replace("return x * 2", "return x * 7"))
    import linecache

    linecache.checkcache(str(path))
    after = code_fingerprint(mod.train)
    # The running helper still doubles: its fingerprint falls back to its bytecode,
    # and never claims the text on disk.
    assert "x * 7" not in after.source
    assert after.digest != fp(load(BASE.replace("return x * 2", "return x * 7")))
    assert before  # the original was fingerprinted from its source


def test_code_it_does_not_reach_does_not_count(load: Any) -> None:
    base = load(BASE)
    edited = load(BASE.replace("return x ** exponent", "return x ** exponent + 1"))
    assert fp(base) == fp(edited)  # train never calls power
    assert fp(base, "power") != fp(edited, "power")


def test_closure_values_count(load: Any) -> None:
    mod = load(BASE)
    assert (
        code_fingerprint(mod.make_closure(2)).digest == code_fingerprint(mod.make_closure(2)).digest
    )
    assert (
        code_fingerprint(mod.make_closure(2)).digest != code_fingerprint(mod.make_closure(3)).digest
    )


def test_partial_arguments_count(load: Any) -> None:
    import functools

    mod = load(BASE)
    cube = functools.partial(mod.power, exponent=3)
    assert code_fingerprint(mod.squared).digest != code_fingerprint(cube).digest
    assert (
        code_fingerprint(mod.squared).digest
        == code_fingerprint(functools.partial(mod.power, exponent=2)).digest
    )


def test_installed_packages_are_recorded_not_hashed(load: Any) -> None:
    np = pytest.importorskip("numpy")
    mod = load(BASE + "\nimport numpy as np\n\ndef total(x):\n    return np.sum(x) + helper(1)\n")
    found = code_fingerprint(mod.total)
    assert found.packages == {"numpy": np.__version__}
    # The standard library is neither followed nor recorded.
    assert "json" not in code_fingerprint(mod.train).packages
    # numpy's code is not in the source: only the user's functions are.
    assert "def total" in found.source and "def helper" in found.source
    assert "numpy" not in found.source


def test_the_source_shows_every_covered_part(load: Any) -> None:
    found = code_fingerprint(load(BASE).train)
    assert found.source.startswith("# def fpmod.train\ndef train(n):")
    for part in ("def fpmod.helper", "class fpmod.Model", "def fpmod.Model.fit", "fpmod.SCALE = 3"):
        assert part in found.source
    assert "the entry point" not in found.source and "Doubles" not in found.source


def test_a_decorated_helper_counts_by_its_code(load: Any) -> None:
    source = BASE.replace(
        "def helper(x):", "import provenance as p\n\n@p.provenance()\ndef helper(x):"
    )
    base, edited = load(source), load(source.replace("return x * 2", "return x * 5"))
    assert fp(base) != fp(edited)


def test_recursion_and_cycles_terminate(load: Any) -> None:
    mod = load(
        """
        def even(n):
            return True if n == 0 else odd(n - 1)

        def odd(n):
            return False if n == 0 else even(n - 1)
        """
    )
    assert code_fingerprint(mod.even).digest != code_fingerprint(mod.odd).digest


def test_a_method_counts_its_class(load: Any) -> None:
    source = """
    class Pipeline:
        def step(self, x):
            return self.helper(x)

        def helper(self, x):
            return x + 1
    """
    base = load(source)
    edited = load(source.replace("x + 1", "x + 2"))
    assert (
        code_fingerprint(base.Pipeline.step).digest != code_fingerprint(edited.Pipeline.step).digest
    )


def test_lambdas_and_callable_objects(load: Any) -> None:
    mod = load(
        """
        double = lambda x: x * 2
        class Scaler:
            def __call__(self, x):
                return x * 3
        scaler = Scaler()
        """
    )
    assert "lambda x: x * 2" in code_fingerprint(mod.double).source
    assert "return x * 3" in code_fingerprint(mod.scaler).source


def test_builtins_and_library_functions_have_a_fingerprint() -> None:
    import json

    assert code_fingerprint(len).digest == code_fingerprint(len).digest
    assert code_fingerprint(len).digest != code_fingerprint(json.dumps).digest


def test_a_script_takes_the_name_it_is_imported_under(tmp_path: Path) -> None:
    import subprocess

    pkg = tmp_path / "proj" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (tmp_path / "proj" / "pipeline.py").write_text(
        "from provenance.fingerprint import importable_module_name\n"
        "print(importable_module_name(__name__))\n"
    )
    (pkg / "job.py").write_text((tmp_path / "proj" / "pipeline.py").read_text())
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "proj")}

    def run(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, *args], cwd=tmp_path / "proj", env=env,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return out.stdout.strip()

    assert run("pipeline.py") == "pipeline"
    assert run("pkg/job.py") == "pkg.job"
    assert run("-m", "pkg.job") == "pkg.job"
    assert run("-c", "from provenance.fingerprint import importable_module_name as n; "
               "print(n('__main__'))") == "__main__"  # fmt: skip
    assert importable_module_name("a.b") == "a.b"
