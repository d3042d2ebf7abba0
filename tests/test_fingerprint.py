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
    "train": "f3f6177564d67314ed33679212d5dc9f",
    "helper": "801fd663533c05a0abe7029baf05073a",
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


def test_a_mutable_global_counts_by_its_assignment_not_its_state(load: Any) -> None:
    source = """
    calls = []
    PARAMS = {"lr": 0.1}

    def step(x):
        calls.append(x)
        return x * PARAMS["lr"]
    """
    mod = load(source)
    before = fp(mod, "step")
    mod.step(1)
    mod.PARAMS["lr"] = 5  # run-time state: not part of the code
    assert code_fingerprint(mod.step).digest == before
    assert fp(load(source.replace("0.1", "0.2")), "step") != before
    assert fp(load(source.replace("calls = []", "calls = [0]")), "step") != before


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
