"""Lineage queries on big histories, and drawing a big pipeline."""

from __future__ import annotations

import os
import time
from typing import Any

import _index_fill
from _harness import Context, Figure, Row, alternate, benchmark, info_row, limit_row, median


@benchmark("lineage")
def lineage(ctx: Context) -> list[Row]:
    """dependencies() and lineage_graph() with 10,000 ancestors (s); drawing 1,000 artifacts."""
    import provenance
    from provenance import MemoryStore, Repository
    from provenance.storage.index import SqlIndex

    n = ctx.pick(10_000, 1_000)
    width = ctx.pick(100, 25)
    depth = n // width
    draw_width, draw_depth = ctx.pick((25, 40), (10, 20))
    path = os.path.join(ctx.tmpdir, "lineage.db")
    url = "sqlite:///" + path

    t0 = time.perf_counter()
    loader = SqlIndex(url)
    pipeline = _index_fill.Pipeline(
        _index_fill.RowMaker(loader.engine, _index_fill.pipeline_template())
    )
    # ``n`` ancestors each: a chain of n + 1, and a layered DAG of n plus its final artifact.
    chain_id = _index_fill.chain(pipeline, n + 1)
    dag_id = _index_fill.layered_dag(pipeline, width, depth)
    draw_id = _index_fill.layered_dag(pipeline, draw_width, draw_depth, seed=1)
    _index_fill.bulk_load(loader, pipeline.rows, pipeline.maker, pipeline.edges)
    ctx.log(
        f"  {len(pipeline.rows):,} artifacts and {len(pipeline.edges):,} lineage edges "
        f"indexed in {time.perf_counter() - t0:.1f} s"
    )
    repo = Repository(SqlIndex(url), MemoryStore())
    artifacts = {"chain": repo.get_artifact(chain_id), "dag": repo.get_artifact(dag_id)}
    shapes = {
        "chain": f"a chain of {n + 1:,} artifacts",
        "dag": f"a DAG of {width} x {depth} artifacts plus the final one, "
        "2 or 3 inputs each (1 in 4 from an earlier layer)",
    }

    def deps(shape: str) -> Any:
        def run() -> float:
            t0 = time.perf_counter()
            found = provenance.dependencies(artifacts[shape])
            elapsed = time.perf_counter() - t0
            if len(found) != n + 1 or found[-1].id != artifacts[shape].id:
                raise RuntimeError(f"dependencies of the {shape}: {len(found)} artifacts")
            return elapsed

        return run

    def graph(shape: str) -> Any:
        def run() -> float:
            t0 = time.perf_counter()
            g = provenance.lineage_graph(artifacts[shape])
            elapsed = time.perf_counter() - t0
            if g.number_of_nodes() != n + 1:
                raise RuntimeError(f"lineage_graph of the {shape}: {g.number_of_nodes()} nodes")
            return elapsed

        return run

    # Untimed: import networkx and open the index (a one-time cost of any process).
    provenance.lineage_graph(repo.get_artifact(pipeline.ids[0]))
    sides = {}
    for shape in ("chain", "dag"):
        sides[f"dependencies/{shape}"] = deps(shape)
        sides[f"lineage_graph/{shape}"] = graph(shape)
    # At most 3 rounds: a slow query here must not hold up the whole run.
    samples = alternate(min(ctx.rounds, 3), sides)

    rows: list[Row] = []
    for name, values in samples.items():
        fn, shape = name.split("/")
        rows.append(
            limit_row(
                f"{fn} ({shape})",
                Figure(median(values), "s", values),
                2.0,
                "< 2 s",
                f"{n:,} ancestors: {shapes[shape]}; SQLite",
                ancestors=n,
            )
        )

    # Drawing: informational (most of the time is graphviz's layout).
    try:
        import graphviz  # noqa: F401
    except ImportError as exc:
        rows.append(
            Row("visualize_lineage", "-", None, None, None, "info", na_reason=f"graphviz: {exc}")
        )
        return rows
    draw = repo.get_artifact(draw_id)
    draw_n = draw_width * draw_depth
    times: list[float] = []
    build: list[float] = []
    size = 0
    for _ in range(1):  # one drawing: dot takes seconds to tens of seconds
        t0 = time.perf_counter()
        dot = provenance.visualize_lineage(draw)
        t1 = time.perf_counter()
        svg = dot.pipe("svg")
        times.append(time.perf_counter() - t0)
        build.append(t1 - t0)
        size = len(svg)
    rows.append(
        info_row(
            "visualize_lineage",
            Figure(median(times), "s", times),
            f".pipe('svg') of a {draw_n + 1:,}-artifact pipeline ({draw_width} x {draw_depth} "
            f"DAG); building the graph {median(build):.2f} s, the rest is dot; "
            f"{size / 1024:.0f} KB of SVG",
            artifacts=draw_n + 1,
        )
    )
    repo.index.engine.dispose()
    return rows
