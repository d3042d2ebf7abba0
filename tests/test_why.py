"""Explaining a miss: ProvenanceFunction.why and ``provenance diff``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import provenance as p
from provenance.why import compare_artifacts


def test_a_hit_says_so(repo: Any) -> None:
    @p.provenance()
    def area(width: float, height: float = 1.0) -> float:
        return width * height

    made = area(2.0)
    why = area.why(2.0)
    assert why.cached and why.nearest is not None and why.nearest.id == made.artifact.id
    assert why.differences == ()
    assert "is cached" in str(why) and made.artifact.id in str(why)


def test_a_never_computed_function_says_so(repo: Any) -> None:
    @p.provenance()
    def fresh(n: int) -> int:
        return n

    why = fresh.why(1)
    assert not why.cached and why.nearest is None
    assert "never ran here" in str(why)


def test_a_changed_argument_is_named_with_short_summaries(repo: Any) -> None:
    @p.provenance()
    def fit(data: list[int], alpha: float = 0.1, tag: str = "x") -> float:
        return sum(data) * alpha

    fit([1, 2, 3], alpha=0.5)
    fit([1, 2, 3, 4, 5], alpha=0.9, tag="y")  # farther away: two more parts differ
    why = fit.why([1, 2, 3], alpha=0.7)
    assert not why.cached
    assert [(d.part, d.label, d.left, d.right) for d in why.differences] == [
        ("argument", "argument 'alpha'", "0.5", "0.7")
    ]
    text = str(why)
    assert "argument 'alpha': 0.7 now, 0.5 stored" in text
    assert why.nearest is not None and why.nearest.inputs["kargs"]["alpha"] == 0.5


def test_big_values_are_summarized_by_type_and_hash(repo: Any) -> None:
    @p.provenance()
    def size(text: str) -> int:
        return len(text)

    size("a" * 5000)
    why = size.why("b" * 5000)
    (diff,) = why.differences
    assert diff.right.startswith("<str, 5000 characters ") and len(diff.right) < 60


def test_a_changed_version_and_name(repo: Any) -> None:
    def body(n: int) -> int:
        return n

    p.provenance(version=1, name="thing")(body)(1)
    why = p.provenance(version=2, name="thing")(body).why(1)
    assert [(d.part, d.left, d.right) for d in why.differences] == [("version", "1", "2")]


def test_changed_code_shows_a_diff_of_the_stored_source(repo: Any, tmp_path: Path) -> None:
    source = """
    import provenance as p

    WEIGHT = 2

    @p.provenance()
    def evaluate(n):
        return n * WEIGHT
    """
    first = load_module(tmp_path / "a", "evaluation", source)
    first.evaluate(3)
    second = load_module(tmp_path / "b", "evaluation", source.replace("WEIGHT = 2", "WEIGHT = 5"))
    why = second.evaluate.why(3)
    (diff,) = why.differences
    assert diff.part == "code" and diff.in_id
    assert "-evaluation.WEIGHT = 2" in diff.detail and "+evaluation.WEIGHT = 5" in diff.detail
    assert "--- stored" in str(why) and "+++ now" in str(why)


def test_under_a_version_a_code_change_is_shown_as_outside_the_id(
    repo: Any, tmp_path: Path
) -> None:
    source = """
    import provenance as p

    @p.provenance(version=1)
    def evaluate(n):
        return n * 2
    """
    load_module(tmp_path / "a", "evaluation", source).evaluate(3)
    edited = load_module(tmp_path / "b", "evaluation", source.replace("n * 2", "n * 3"))
    why = edited.evaluate.why(3)
    assert why.cached
    (diff,) = why.differences
    assert diff.part == "code" and not diff.in_id
    assert "Not part of the id, but different" in str(why)


def test_compare_two_artifacts(repo: Any) -> None:
    @p.provenance()
    def f(a: int, b: int = 0) -> int:
        return a + b

    one, two = f(1), f(2, b=3)
    result = compare_artifacts(one.artifact, two.artifact)
    assert {d.label for d in result.differences} == {"argument 'a'", "argument 'b'"}
    assert one.artifact.id in str(result) and two.artifact.id in str(result)


def load_module(folder: Path, name: str, source: str) -> Any:
    import importlib

    folder.mkdir(parents=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        importlib.invalidate_caches()
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(name, None)


PROVENANCE = shutil.which("provenance")


@pytest.mark.skipif(PROVENANCE is None, reason="the console script is not installed")
def test_provenance_diff_on_the_command_line(tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import provenance as p

            SCALE = int(sys.argv[1])

            @p.provenance()
            def scaled(n):
                return n * SCALE

            print(scaled(int(sys.argv[2])).artifact.id)
            """
        )
    )
    env = {**os.environ, "PROVENANCE_HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)

    first = run(sys.executable, str(script), "2", "1").stdout.strip()
    second = run(sys.executable, str(script), "3", "4").stdout.strip()
    out = run(str(PROVENANCE), "diff", first[:8], second[:8])
    assert out.returncode == 0, out.stderr
    assert "argument 'n': 4 in " in out.stdout
    assert "-job.SCALE = 2" in out.stdout and "+job.SCALE = 3" in out.stdout
    missing = run(str(PROVENANCE), "diff", first[:8], "ffffffff")
    assert missing.returncode == 1 and "ffffffff" in missing.stderr


def test_a_proxy_changed_in_place_is_called_so(repo: Any) -> None:
    @p.provenance()
    def ones(n: int) -> list[int]:
        return [1] * n

    @p.provenance()
    def total(xs: list[int]) -> int:
        return sum(xs)

    xs = ones(3)
    total(xs)
    xs[0] = 5
    (diff,) = total.why(xs).differences
    assert diff.right.endswith("changed in place since it was made")
    assert diff.left == f"artifact {xs.artifact.id[:12]}"
