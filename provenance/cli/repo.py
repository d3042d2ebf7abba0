"""Commands about the repository itself: ``init`` makes one, ``info`` says which is in use and why.

Neither loads a configuration before it runs (``Command.needs_config`` is
false): ``init`` runs where there is no repository yet, and ``info`` must
answer there too, without making one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .. import config
from .._version import __version__
from ..storage import discovery
from .common import UsageError

__all__ = ["cmd_info", "cmd_init"]

#: What ``init --yaml`` writes: the default repository, by paths relative to
#: the file, so that the project directory can be moved or cloned whole.
CONFIG_TEMPLATE = """\
# The provenance repository of this directory and everything below it: a
# script or notebook run anywhere under here finds this file (see
# `provenance info`).  Relative paths are relative to this file.
blobstores:
  default: {type: disk, cachedir: .provenance/blobs, delete: true}
artifact_repos:
  default: {type: sql, db: .provenance/provenance.db, store: default, delete: true}
default_repo: default
"""


def cmd_init(args: argparse.Namespace) -> int:
    """Make a repository in DIR (default: the current directory): ``DIR/.provenance``."""
    directory = os.path.abspath(args.directory or os.curdir)
    if not os.path.isdir(directory):
        raise UsageError(f"{args.directory!r} is not a directory")
    home = os.path.join(directory, discovery.REPO_DIR)
    db = os.path.join(home, "provenance.db")
    config_file = os.path.join(directory, discovery.CONFIG_FILE)
    if args.yaml and os.path.exists(config_file):
        raise UsageError(f"{config_file} exists already; not overwriting it")
    before = discovery.locate(directory)
    existed = os.path.exists(db)
    # Building the default repository and asking it for its count makes the
    # index file at this library's schema revision and the blob directory.
    made = config.from_config(config.default_config(home), base_dir=directory)
    repo = made["repos"]["default"]
    repo.index.count()
    os.makedirs(os.path.join(home, "blobs"), exist_ok=True)
    if args.yaml:
        with open(config_file, "x", encoding="utf-8") as f:
            f.write(CONFIG_TEMPLATE)
        print(f"wrote {config_file}")
    if existed:
        print(f"{home} is a repository already")
    else:
        print(f"made a repository in {home}")
        shadowed = before.home if before.found and before.home != home else None
        if shadowed:
            print(f"(it is used instead of {shadowed} in {directory} and below)")
    for variable in (discovery.CONFIG_ENV, discovery.HOME_ENV):
        if os.environ.get(variable):
            print(f"note: ${variable} is set, and is used instead while it is", file=sys.stderr)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Say which configuration and repositories are in use, and why."""
    given = getattr(args, "config", None)
    here = os.getcwd()
    if given:
        location = discovery.Location(
            discovery.locate().home, os.path.abspath(given), "given with --config", True
        )
    else:
        location = discovery.locate()
    facts: dict[str, Any] = {
        "version": __version__,
        "python": sys.version.split()[0],
        "directory": here,
        "config_file": location.config_file,
        "chosen_by": location.reason,
        "home": location.home,
        "repos": [],
        "default_repo": None,
    }
    exists = location.config_file is not None or os.path.exists(
        os.path.join(location.home, "provenance.db")
    )
    if exists:
        cfg = config.load_located(location)
        name = getattr(args, "repo", None)
        if name:
            config.set_default_repo(name)
            cfg = config.current_config()
        facts["default_repo"] = cfg.default_repo
        facts["repos"] = [_describe(n, r) for n, r in cfg.repos.items()]
    else:
        facts["note"] = (
            "no repository yet: the first decorated call here makes one in "
            f"{location.home}; `provenance init` makes it now"
        )
    if args.json:
        json.dump(facts, sys.stdout, indent=2)
        print()
        return 0
    _print_facts(facts)
    return 0


def _describe(name: str, repo: Any) -> dict[str, Any]:
    members = getattr(repo, "repos", None)
    if members is not None:
        return {"name": name, "type": "chained", "repos": [m.name for m in members]}
    index, store = getattr(repo, "index", None), getattr(repo, "blobstore", None)
    flags = [f for f, on in (("read", repo.read), ("write", repo.write)) if on]
    if getattr(repo, "delete_allowed", False):
        flags.append("delete")
    described: dict[str, Any] = {
        "name": name,
        "type": "memory" if index is None else "sql",
        "index": _strip(repr(index)) if index is not None else None,
        "blobstore": _strip(repr(store)) if store is not None else None,
        "flags": flags,
        "trusted": bool(getattr(repo, "trusted", True)),
    }
    reason = getattr(repo, "cannot_write", None)
    if reason:
        described["cannot_write"] = reason
    return described


def _strip(text: str) -> str:
    # "<DiskStore /x/blobs>" reads better without its angle brackets.
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text


def _print_facts(facts: dict[str, Any]) -> None:
    rows = [
        ("provenance", f"{facts['version']} (Python {facts['python']})"),
        ("directory", facts["directory"]),
        ("config file", facts["config_file"] or "(none: the default repository)"),
        ("chosen by", facts["chosen_by"]),
        ("local state", facts["home"]),
    ]
    if facts.get("note"):
        rows.append(("repository", facts["note"]))
    else:
        rows.append(("default repo", facts["default_repo"] or "(none)"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for repo in facts["repos"]:
        mark = "*" if repo["name"] == facts["default_repo"] else " "
        if repo["type"] == "chained":
            print(f"{mark} {repo['name']}: chained over {', '.join(repo['repos'])}")
            continue
        trust = "trusted" if repo["trusted"] else "not trusted"
        print(f"{mark} {repo['name']}: {', '.join(repo['flags']) or 'no access'}; {trust}")
        if repo["index"]:
            print(f"    index      {repo['index']}")
        if repo["blobstore"]:
            print(f"    blobstore  {repo['blobstore']}")
        if repo.get("cannot_write"):
            print(f"    read-only  {repo['cannot_write']}")
