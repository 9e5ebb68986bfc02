"""What each pytest process does at the end of a run, with timestamps: a pytest plugin.

    PYTHONPATH=bench SUITE_END_LOG=/tmp/end.log pg_virtualenv -t -v 15 \
        .venv/bin/python -m pytest -p suite_end -n 2 --dist worksteal -q tests/...

Each line of the log: time, worker (gw0, gw1, main), pid, event: session-scoped fixtures
finalised, the session finishing, 'workerfinished' sent (xdist), pytest_unconfigure, each
of pytest's unraisable-exception collections (gc.collect, its time and what it found), and
the interpreter exiting. execnet interrupts (SIGINT) a worker still running 5 s after the
controller closes it, so what a worker does after 'workerfinished' should be quick.
"""

from __future__ import annotations

import atexit
import gc
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

LOG = os.environ.get("SUITE_END_LOG", "suite-end.log")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def log(what: str) -> None:
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(f"{time.time():.3f} {WORKER} {os.getpid()} {what}\n")


def pytest_configure(config: pytest.Config) -> None:
    import _pytest.unraisableexception as unraisable

    def timed_collections(iterations: int) -> None:
        for i in range(iterations):
            start = time.perf_counter()
            found = gc.collect()
            log(f"pytest's gc.collect {i}: {time.perf_counter() - start:.3f} s, found {found}")

    unraisable.gc_collect_harder = timed_collections
    atexit.register(log, "interpreter exiting")


def pytest_fixture_post_finalizer(fixturedef: Any, request: Any) -> None:
    if fixturedef.scope == "session":
        log(f"session fixture finalised: {fixturedef.argname}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish() -> Iterator[None]:
    log(f"session finishing: {len(gc.get_objects())} objects tracked")
    try:
        return (yield)
    finally:  # the outermost wrapper: after xdist's, which sends 'workerfinished'
        log(f"session finished ('workerfinished' sent): {gc.get_freeze_count()} frozen")


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure() -> None:
    log(f"unconfigure: {len(gc.get_objects())} objects tracked")
