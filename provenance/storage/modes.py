"""The permissions of the files storage makes: the umask, as ``cp`` follows it."""

from __future__ import annotations

import os
import threading

__all__ = ["current_umask"]

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _umask_lock:  # elsewhere the only way to read it is to set it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask
