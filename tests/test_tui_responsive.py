"""The search box keeps taking keys while a 100,000-service index is being built: every
key is shown in the box before the build has finished, and the results for what was
typed appear once it has."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Input

from linkwork.db import open_engine, session_scope
from linkwork.settings import load_settings
from tui.app import LinkworkApp

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SIZE = 100_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def big_directory(path: Path) -> int:
    """The 400 sample services, copied in SQL to 100,000 (own ids and names)."""
    from linkwork.sample import load_sample_directory

    engine = open_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        load_sample_directory(session)
    engine.dispose()
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(service)") if row[1] != "id"]
    picked = ", ".join(
        {"source_id": "source_id || '-' || k", "name": "name || ' ' || k"}.get(c, c)
        for c in columns
    )
    copies = SIZE // db.execute("SELECT count(*) FROM service").fetchone()[0]
    with db:
        db.execute(
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n "
            f"WHERE k < {copies - 1}) "
            f"INSERT INTO service ({', '.join(columns)}) SELECT {picked} FROM service, n"
        )
    total = db.execute("SELECT count(*) FROM service").fetchone()[0]
    db.close()
    return int(total)


async def test_typing_is_processed_while_100k_index_builds(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    assert big_directory(path) == SIZE
    app = LinkworkApp(load_settings(database_url=f"sqlite:///{path}"), build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.db_ready:
            await pilot.pause(0.05)
        await pilot.press("f4")  # the services screen starts building the index
        await pilot.pause()
        box = app.screen.query_one("#svc-query", Input)
        typed = "debt advice"
        for key in typed:
            await pilot.press("space" if key == " " else key)
        # Every key reached the box while the build was still running.
        assert box.value == typed
        assert not app.index_ready
        assert "Preparing the service search" in str(app.screen.query_one("#svc-status").render())
        for _ in range(2400):
            if app.index_ready and app.screen.matches:  # type: ignore[attr-defined]
                break
            await pilot.pause(0.05)
        assert app.service_search.size == SIZE
        assert app.screen.matches  # type: ignore[attr-defined]
        assert app.screen.shown_query == typed  # type: ignore[attr-defined]
