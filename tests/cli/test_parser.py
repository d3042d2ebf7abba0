"""The grammar of the command line (``provenance/cli/parser.py``): light to build, complete.

``provenance --help`` should cost the interpreter's start and little more,
so building the parser and printing any help must import none of the
library and none of its dependencies.  Each check runs in a fresh
interpreter and reads ``sys.modules`` there: what was imported, not how
long it took (the time is a benchmark row, ``startup`` in benchmarks/).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

import pytest

import provenance
from provenance import cli
from provenance.cli import parser
from provenance.verbs import gc

#: The tree whose ``provenance`` the fresh interpreters import: this one.
TREE = os.path.dirname(os.path.dirname(os.path.abspath(provenance.__file__)))

#: Modules that take tens of milliseconds to import, or pull in the library.
HEAVY = (
    "sqlalchemy", "alembic", "yaml", "cloudpickle", "joblib", "numpy", "pandas", "pyarrow",
    "boto3", "botocore", "fsspec", "psycopg", "networkx", "graphviz", "tqdm", "xxhash", "wrapt",
)  # fmt: skip

#: What the command line may import of the package to build its parser.
LIGHT_OWN = {"provenance", "provenance._version", "provenance.cli", "provenance.cli.parser"}

#: Every help there is: the top level, ``--version`` and each command's ``--help``.
HELP_ARGVS = [["--help"], ["--version"], *([c.name, "--help"] for c in cli.COMMANDS)]

# Parses each argv of HELP_ARGVS (argparse prints and exits) and prints the
# modules then imported, as JSON, on the real stdout.
_ASK_EVERY_HELP = """
import contextlib, io, json, sys
from provenance.cli import build_parser
for argv in {argvs!r}:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            build_parser().parse_args(argv)
        except SystemExit as stop:
            assert stop.code == 0, (argv, stop.code)
    assert out.getvalue().strip(), argv
print(json.dumps(sorted(sys.modules)))
"""

# The package's module object without running provenance/__init__.py (it is
# created from its spec and not executed): what the command line imports by
# itself, whatever `import provenance` costs.
_WITHOUT_PACKAGE_INIT = """
import importlib.util, sys
spec = importlib.util.find_spec("provenance")
sys.modules["provenance"] = importlib.util.module_from_spec(spec)
"""


def _modules_after(script: str) -> set[str]:
    """The names in ``sys.modules`` of a fresh interpreter once ``script`` ran."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [TREE, os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def _heavy_of_import_provenance() -> set[str]:
    """The heavy modules a fresh ``import provenance`` loads by itself."""
    return set(
        _heavy(
            _modules_after("import json, sys, provenance\nprint(json.dumps(sorted(sys.modules)))")
        )
    )


def test_building_the_parser_and_every_help_imports_nothing_of_the_library() -> None:
    # The command line's own share, measured without the package's __init__.
    modules = _modules_after(_WITHOUT_PACKAGE_INIT + _ASK_EVERY_HELP.format(argvs=HELP_ARGVS))
    assert _heavy(modules) == []
    own = {m for m in modules if m == "provenance" or m.startswith("provenance.")}
    assert own == LIGHT_OWN


def test_provenance_help_imports_nothing_heavy_in_a_fresh_process() -> None:
    # The whole process, as the console script runs it: `import provenance`
    # comes first (provenance.cli is its subpackage), then the parser.
    found = _heavy(_modules_after(_ASK_EVERY_HELP.format(argvs=HELP_ARGVS)))
    if found:
        added = sorted(set(found) - _heavy_of_import_provenance())
        assert added == [], f"the command line itself imports {added}"
        tops = sorted({m.split(".")[0] for m in found})
        pytest.xfail(
            f"`import provenance` itself imports {', '.join(tops)}: the parser adds nothing, "
            "but --help stays heavy until provenance/__init__.py imports its parts lazily"
        )


def test_python_m_provenance_help_imports_nothing_heavy_beyond_import_provenance() -> None:
    script = """
    import contextlib, io, json, runpy, sys
    sys.argv = ["provenance", "--help"]
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            runpy.run_module("provenance", run_name="__main__", alter_sys=True)
        except SystemExit as stop:
            assert stop.code == 0, stop.code
    print(json.dumps(sorted(sys.modules)))
    """
    found = set(_heavy(_modules_after(script)))
    by_package = set(
        _heavy(
            _modules_after("import json, sys, provenance\nprint(json.dumps(sorted(sys.modules)))")
        )
    )
    assert sorted(found - by_package) == []


def test_every_command_names_a_function_that_runs_it() -> None:
    for command in cli.COMMANDS:
        module, _, function = command.run.partition(":")
        run = command.resolve()
        assert callable(run)
        assert (run.__module__, run.__name__) == (f"provenance.cli.{module}", function)


def test_a_reference_that_is_not_module_colon_function_is_refused_by_name() -> None:
    broken = parser.Command("broken", "a command with a bad reference", "artifacts.cmd_ls")
    with pytest.raises(ValueError, match="'broken'.*'artifacts.cmd_ls'.*'module:function'"):
        broken.resolve()


def test_constants_written_out_for_the_help_match_the_library() -> None:
    # Written out so that the help imports no verb; they must not drift.
    assert parser.GC_GRACE_PERIOD == gc.GRACE_PERIOD
    choices = next(a.choices for a in cli.build_parser()._actions
                   if isinstance(a, argparse._SubParsersAction))  # fmt: skip
    gc_help = choices["gc"].format_help()
    assert f"(default {gc.GRACE_PERIOD:g})" in " ".join(gc_help.split())


def test_the_helpers_re_exported_from_common_are_the_same_objects() -> None:
    from provenance.cli import common

    for name in ("format_size", "current_repo", "resolve_artifact_id", "UsageError"):
        assert getattr(cli, name) is getattr(common, name)
    assert "format_size" in dir(cli)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = cli.nothing_here  # type: ignore[attr-defined]
