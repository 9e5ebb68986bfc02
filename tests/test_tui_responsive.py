"""The search box keeps taking keys while the service index is being built: every key is
shown in the box before the build has finished, and the results for what was typed appear
once it has.

The build is made to last as long as the typing takes, whatever the machine's speed: the
search process the app starts is stopped (SIGSTOP) at once, so the index it is asked for
cannot be ready until every key has been typed and checked; then it is let go and builds.
(Before, the test built a 100,000-service index, ~30 s of CPU, and relied on the typing
finishing first.) If the app waited for the build anywhere on its interface's thread, the
keys would be handled only once the build was let go (a watchdog does after 20 s) and the
checks that the index is not ready and the watchdog has not fired would fail; an index built
in the app's own process (where a thread would hold the GIL and starve the interface) starts
no search process, and the test fails saying so."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from linkwork.db import open_engine, session_scope
from linkwork.settings import load_settings
from tui import search_process
from tui.app import LinkworkApp

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(sys.platform == "win32", reason="stops a process with SIGSTOP"),
]

# This module measures the interface's timing while a build is held: its Pilot keeps
# Textual's own clock waits (conftest's _pilot_waits_on_events is not applied).
PILOT_WAITS_ON_THE_CLOCK = True
HELD_AT_MOST = 20.0  # seconds the build is held before the watchdog lets it go


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sample_directory(path: Path) -> int:
    """The 400 sample services in a new database; the number of services in it."""
    from linkwork.sample import load_sample_directory

    engine = open_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        load_sample_directory(session)
    engine.dispose()
    db = sqlite3.connect(path)
    total = db.execute("SELECT count(*) FROM service").fetchone()[0]
    db.close()
    return int(total)


async def test_typing_is_processed_while_the_index_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "directory.db"
    size = sample_directory(path)
    assert size >= 400

    # Each search process the app starts is stopped as soon as it is started: the index
    # cannot be built until it is let go (by the test, or by the watchdog).
    held: list[tuple[Any, threading.Timer]] = []
    real_init = search_process.SearchProcess.__init__

    def hold(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        pid = self._process.pid
        os.kill(pid, signal.SIGSTOP)
        watchdog = threading.Timer(HELD_AT_MOST, os.kill, (pid, signal.SIGCONT))
        watchdog.start()
        held.append((self, watchdog))

    def let_go() -> None:
        for process, watchdog in held:
            watchdog.cancel()
            os.kill(process._process.pid, signal.SIGCONT)

    monkeypatch.setattr(search_process.SearchProcess, "__init__", hold)
    app = LinkworkApp(load_settings(database_url=f"sqlite:///{path}"), build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        try:
            while not app.db_ready:
                await pilot.pause(0.05)
            await pilot.press("f4")  # the services screen starts building the index
            assert not app.index_ready, "the index was ready once F4 was handled: the app waited"
            # The app has asked for the index once its worker waits for the answer (it
            # holds the process's lock while it does).
            deadline = time.monotonic() + 30
            while not (held and held[0][0]._lock.locked()):
                assert time.monotonic() < deadline, "no search process was asked for the index"
                await pilot.pause(0.02)
            box = app.screen.query_one("#svc-query", Input)
            typed = "debt advice"
            for key in typed:
                await pilot.press("space" if key == " " else key)
            # Every key reached the box while the build was still running.
            assert box.value == typed
            assert held[0][1].is_alive(), "the keys were handled only once the build was let go"
            assert not app.index_ready
            status = str(app.screen.query_one("#svc-status").render())
            assert "Preparing the service search" in status
        finally:
            let_go()
        for _ in range(1200):
            if app.index_ready and app.screen.matches:  # type: ignore[attr-defined]
                break
            await pilot.pause(0.05)
        assert app.service_search.size == size
        assert app.screen.matches  # type: ignore[attr-defined]
        assert app.screen.shown_query == typed  # type: ignore[attr-defined]
