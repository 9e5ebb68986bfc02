"""The test process's own child processes, as Linux lists them (a forked reader waited for
or not)."""

from __future__ import annotations

import os


def children() -> set[int]:
    """The process ids of this process's children, from every thread's list in /proc."""
    me = os.getpid()
    found: set[int] = set()
    for task in os.listdir(f"/proc/{me}/task"):
        with open(f"/proc/{me}/task/{task}/children") as fh:
            found.update(int(pid) for pid in fh.read().split())
    return found
