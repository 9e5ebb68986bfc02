"""The footer remakes its keys only when what they show changes (issue 22: a pilot test took
10 s, most of it restyling footer keys Textual's footer made anew on every move of the
focus: 888 of the 1,201 widgets one screening test mounted)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.widgets._footer import FooterKey

from linkwork.settings import load_settings
from tui.app import LinkworkApp
from tui.widgets.footer import KeysFooter

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def keys_of(app: Any) -> list[FooterKey]:
    return list(app.screen.query_one(KeysFooter).query(FooterKey))


def words_of(keys: list[FooterKey]) -> list[str]:
    return [f"{k.key_display} {k.description}" for k in keys]


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_moving_the_focus_keeps_the_keys_and_a_changed_key_remakes_them(
    tmp_path: Path, sqlite_template: Path
) -> None:
    target = tmp_path / "empty.db"
    shutil.copy(sqlite_template, target)
    app = LinkworkApp(load_settings(database_url=f"sqlite:///{target}"), build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        offered = words_of(keys_of(app))
        assert "l Load sample directory" in offered  # the directory is empty
        app.directory_size = 400  # as after loading the sample: the key is no longer offered
        await settle(pilot)
        remade = words_of(keys_of(app))
        assert "l Load sample directory" not in remade
        assert "a Add person" in remade

        await pilot.press("f2")  # people: a search box and a table
        await settle(pilot)
        before = keys_of(app)
        focused = []
        for _ in range(4):
            await pilot.press("tab")
            await settle(pilot)
            focused.append(app.focused)
        assert len({id(w) for w in focused}) > 1  # the focus did move
        assert [id(k) for k in keys_of(app)] == [id(k) for k in before]  # the same widgets
