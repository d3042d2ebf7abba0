"""Two team members share results through PostgreSQL and S3.

    export PROVENANCE_TEAM_DB=postgresql+psycopg://USER:PASSWORD@HOST:5432/provenance
    export PROVENANCE_TEAM_BUCKET=my-team-bucket
    export PROVENANCE_TEAM_S3_ENDPOINT=http://127.0.0.1:9000   # optional: MinIO, moto...
    python examples/team/team_example.py

The script starts two processes, one for "alice" and then one for "bob", that
run the same analysis with the shared configuration in ``provenance.yaml``.
Alice computes the expensive data set; Bob's identical call is a cache hit
on what Alice stored (he did not have to wait for it), and his own summary,
computed from her data set, records her artifact in its lineage.

Run one member's session with ``--member NAME``.  Run the whole script
again and Alice's calls are cache hits too.  After upgrading the library,
one person runs ``--upgrade-db`` to migrate the shared index.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from typing import Any

import yaml

import provenance as p

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "provenance.yaml")
REQUIRED = ("PROVENANCE_TEAM_DB", "PROVENANCE_TEAM_BUCKET")


# -- configuration --------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def expand_env(value: Any, missing: list[str]) -> Any:
    """Replace ``${NAME}`` / ``${NAME:-default}`` in the strings of a parsed config.

    Expanding after parsing (not in the YAML text) keeps passwords with YAML
    syntax in them intact.  Keys whose value expands to an empty string are
    dropped, so that the library's default applies.  Unset variables without a
    default are appended to ``missing``.
    """
    if isinstance(value, dict):
        expanded = {key: expand_env(item, missing) for key, item in value.items()}
        return {key: item for key, item in expanded.items() if item != ""}
    if isinstance(value, list):
        return [expand_env(item, missing) for item in value]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name) or default
        if found is None:
            missing.append(name)
            return ""
        return found

    return _VARIABLE.sub(lookup, value)


def load_team_config() -> p.Config:
    with open(CONFIG, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    missing: list[str] = []
    config = expand_env(raw, missing)
    if missing:
        sys.exit(
            f"{CONFIG} needs the environment variable(s) {', '.join(sorted(set(missing)))}: "
            "the URL of the team's PostgreSQL database and the name of its S3 bucket "
            "(see examples/team/README.md)"
        )
    return p.load_config(config)


# -- the analysis both members run -----------------------------------------------------


@p.provenance(version=1)
def daily_sales(region: str, days: int = 5000, seed: int = 0) -> list[float]:
    """Stand-in for an expensive query: one sales figure per day."""
    time.sleep(1.0)
    rng = random.Random(f"{region}-{seed}")
    # Thousands of floats: more than 4 KiB, so the value goes to S3 (small
    # values are kept in the index row instead).
    return [round(rng.gauss(100.0, 15.0), 2) for _ in range(days)]


@p.provenance(version=1)
def summarize(sales: list[float], quantile: float = 0.5) -> dict[str, float]:
    ordered = sorted(sales)
    return {
        "days": len(ordered),
        "mean": round(sum(ordered) / len(ordered), 2),
        f"q{quantile:g}": ordered[int(quantile * (len(ordered) - 1))],
    }


def describe(result: Any) -> str:
    """Who computed a result: this process, or someone else, when and where."""
    artifact = result.artifact
    info = artifact.run_info
    if info["id"] == p.get_run_info()["id"]:
        return "computed"
    return (
        f"loaded   (computed by {info['user']}, pid {info['process']['pid']} "
        f"on {info['host']['nodename']}, {artifact.computed_at:%Y-%m-%d %H:%M:%S} UTC)"
    )


def member_session(member: str, quantile: float) -> None:
    load_team_config()
    start = time.perf_counter()
    sales = daily_sales("north")
    print(f"[{member}] {'daily_sales(north)':<20} {sales.artifact.id[:12]}  {describe(sales)}")
    summary = summarize(sales, quantile=quantile)
    call = f"summarize(q={quantile:g})"
    print(f"[{member}] {call:<20} {summary.artifact.id[:12]}  {describe(summary)}")
    print(f"[{member}]   {dict(summary)}")
    # The lineage is shared too: the summary names the data set it was made
    # from, whoever computed that.
    print(f"[{member}]   made from {summary.artifact.input_artifact_ids[0][:12]}")
    print(f"[{member}] done in {time.perf_counter() - start:.2f} s", flush=True)


# -- two members, two processes ------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--member", help="run one member's session under this name")
    parser.add_argument("--quantile", type=float, default=0.5)
    parser.add_argument(
        "--upgrade-db",
        action="store_true",
        help="migrate the shared index to this library's schema, then exit",
    )
    args = parser.parse_args()
    if args.upgrade_db:
        # After a library upgrade, one person migrates the shared database;
        # until then the others get a clear SchemaOutdated error, not damage.
        p.upgrade_schema(load_team_config().default_repo)
        print("the team index is up to date")
        return
    if args.member:
        member_session(args.member, args.quantile)
        return

    # Check the settings once here rather than in each process.
    load_team_config()
    for member, quantile in (("alice", 0.5), ("bob", 0.9)):
        print(f"--- {member}'s process", flush=True)
        # PROVENANCE_USER is the user recorded in each artifact's run info.
        env = {**os.environ, "PROVENANCE_USER": member}
        done = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--member", member,
             "--quantile", str(quantile)],
            env=env,
        )  # fmt: skip
        if done.returncode:
            sys.exit(done.returncode)


if __name__ == "__main__":
    main()
