"""Find a service reads a last word that may be unfinished once typing pauses on it: on
every key the meaning model leaves that word out (it may be half-typed), so the app
searches once more, reading the whole text, when the person stops typing there."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import tui_seed
from textual.widgets import Input

import tui.screens.services as services_screen
from linkwork.settings import load_settings
from tui.app import LinkworkApp

pytestmark = pytest.mark.anyio

TODAY = date(2026, 11, 24)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_app(db_url: str) -> LinkworkApp:
    """The fixed practice (the bundled sample directory in it), searched in this process
    (tui_seed.make_app): the typing is timed against the screen's pause timer and its
    search workers, the same either way."""
    app = LinkworkApp(load_settings(database_url=db_url), today=TODAY)
    app.service_search.in_process = True
    return app


async def test_a_pause_on_an_unfinished_word_reads_the_whole_text(
    monkeypatch: pytest.MonkeyPatch, tui_practice_url: str
) -> None:
    monkeypatch.setattr(services_screen, "PAUSE_SECONDS", 0.2)
    app = make_app(tui_practice_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.settle(pilot)
        calls: list[tuple[str, dict[str, Any]]] = []
        search = app.service_search.search

        def recording(text: str, **kwargs: Any) -> Any:
            calls.append((text, kwargs))
            return search(text, **kwargs)

        monkeypatch.setattr(app.service_search, "search", recording)
        await tui_seed.press(pilot, "f4")
        await tui_seed.settle(pilot)
        box = app.screen.query_one("#svc-query", Input)

        # a whole English word last: every key's search already read it all; no more
        await tui_seed.type_text(pilot, "behind with my rent")
        await tui_seed.settle(pilot)
        await pilot.pause(0.5)
        await tui_seed.settle(pilot)
        assert calls and calls[-1][0] == "behind with my rent"
        assert all("while_typing" not in kwargs for _text, kwargs in calls)

        # a last word that may be half-typed: once typing pauses, the whole text is read
        box.value = ""
        await tui_seed.settle(pilot)
        calls.clear()
        await tui_seed.type_text(pilot, "behind with my rent arre")
        await tui_seed.settle(pilot)
        await pilot.pause(0.5)
        await tui_seed.settle(pilot)
        wholes = [text for text, kwargs in calls if kwargs.get("while_typing") is False]
        assert wholes == ["behind with my rent arre"]
        assert calls[-1][1].get("while_typing") is False  # the results shown are its
        assert app.screen.shown_query == "behind with my rent arre"  # type: ignore[attr-defined]


async def test_typing_on_before_the_pause_cancels_the_whole_read(
    monkeypatch: pytest.MonkeyPatch, tui_practice_url: str
) -> None:
    monkeypatch.setattr(services_screen, "PAUSE_SECONDS", 5.0)
    app = make_app(tui_practice_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.settle(pilot)
        await tui_seed.press(pilot, "f4")
        await tui_seed.settle(pilot)
        screen = app.screen
        await tui_seed.type_text(pilot, "food ba")
        await tui_seed.settle(pilot)
        assert screen._pause is not None  # type: ignore[attr-defined]
        waiting = screen._pause  # type: ignore[attr-defined]
        await tui_seed.type_text(pilot, "nk")  # 'bank': a whole word, no pause search
        await tui_seed.settle(pilot)
        assert screen._pause is None  # type: ignore[attr-defined]
        assert waiting._task is None or waiting._task.done()
