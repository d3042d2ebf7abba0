"""Where the repository of a directory is, found the way git finds ``.git``.

With no configuration loaded, a script or notebook uses the repository of the
directory it runs in:

1. ``$PROVENANCE_CONFIG``: that YAML config file;
2. ``$PROVENANCE_HOME``: the default repository in that directory;
3. else the nearest ``provenance.yaml`` file or ``.provenance/`` directory in
   the current directory or one of its parents (a config file wins over a
   ``.provenance/`` directory beside it, since it says how that directory is
   used);
4. else a new repository in ``./.provenance``, made on its first write.

So ``python ../pipeline.py`` run from ``notebooks/`` uses the project's
repository rather than starting an empty one there.  :func:`locate` answers
with a :class:`Location`, whose ``reason`` says which rule chose it, for
``provenance info``.  It costs two ``stat`` calls per directory above, and is
not remembered: a repository made since the last call is found by the next.
"""

from __future__ import annotations

import os
from typing import NamedTuple

__all__ = ["CONFIG_ENV", "CONFIG_FILE", "HOME_ENV", "REPO_DIR", "Location", "locate"]

#: The environment variable naming a YAML config file.
CONFIG_ENV = "PROVENANCE_CONFIG"
#: The environment variable naming the directory of the default repository.
HOME_ENV = "PROVENANCE_HOME"
#: The directory of a project's default repository.
REPO_DIR = ".provenance"
#: The config file a project may keep beside it.
CONFIG_FILE = "provenance.yaml"


class Location(NamedTuple):
    """Where the repository of a directory is, and why.

    Attributes
    ----------
    home : str
        The ``.provenance`` directory: the default repository's index and
        blobs (when no config file says otherwise), and the local state kept
        beside them (the journal of task records, the file hash cache).
    config_file : str or None
        The YAML config file to load, if one applies.
    reason : str
        Which rule chose them, in words.
    found : bool
        Whether an existing repository or config was found; False when a new
        one would be made in the current directory.
    """

    home: str
    config_file: str | None
    reason: str
    found: bool


def locate(start: str | None = None) -> Location:
    """The repository of ``start`` (default: the current directory).

    Parameters
    ----------
    start : str, optional
        The directory to look from.

    Returns
    -------
    Location
    """
    here = os.path.abspath(start or os.getcwd())
    return _locate(here, os.environ.get(CONFIG_ENV) or None, os.environ.get(HOME_ENV) or None)


def _locate(here: str, config: str | None, home: str | None) -> Location:
    if config:
        path = os.path.abspath(os.path.expanduser(config))
        base = os.path.abspath(os.path.expanduser(home)) if home else _beside(path)
        return Location(base, path, f"${CONFIG_ENV} names it", os.path.isfile(path))
    if home:
        path = os.path.abspath(os.path.expanduser(home))
        return Location(path, None, f"${HOME_ENV} names it", os.path.isdir(path))
    directory = here
    while True:
        config_file = os.path.join(directory, CONFIG_FILE)
        repo_dir = os.path.join(directory, REPO_DIR)
        where = "the current directory" if directory == here else f"{directory}, above {here}"
        if os.path.isfile(config_file):
            return Location(repo_dir, config_file, f"the nearest {CONFIG_FILE}, in {where}", True)
        if os.path.isdir(repo_dir):
            return Location(repo_dir, None, f"the nearest {REPO_DIR}/, in {where}", True)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return Location(
        os.path.join(here, REPO_DIR),
        None,
        f"no {CONFIG_FILE} or {REPO_DIR}/ in {here} or above it: a new repository there",
        False,
    )


def _beside(config_file: str) -> str:
    # The local state of a config named by the environment lives beside it.
    return os.path.join(os.path.dirname(config_file), REPO_DIR)
