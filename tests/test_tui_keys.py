"""Keys and the received referral in the app, without MESH (issue 17, point 5): making our
key with a passphrase (typed twice) from the Keys and partners screen; a hub reading a
referral received as a file and declining it with a reason, which goes back to the
practice by itself (a files partner: the update file in the outbox)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tui_seed
from textual.widgets import DataTable, Input, Static

from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from tui.app import LinkworkApp

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def settle(pilot: Any, app: LinkworkApp) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def text(app: LinkworkApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_make_our_key_with_a_passphrase_typed_twice(isolated_home: Path) -> None:
    settings = load_settings(practice_ods="Y02101")
    app = LinkworkApp(settings, build_index=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await app.run_action("keys")
        await settle(pilot, app)
        assert text(app, "#our-key").startswith("No key yet: no private key in ")
        assert app.screen.query_one("#partner-empty").display  # designed empty state
        await pilot.press("n")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "NewKeyScreen"
        assert app.screen.query_one("#key-name", Input).value == "Y02101"
        await tui_seed.press(
            pilot, "tab", *"correct horse battery", "tab", *"correct horse batterY"
        )
        await pilot.press("enter")
        await settle(pilot, app)
        assert text(app, ".error") == "! The two passphrases differ: type them again."
        await tui_seed.press(pilot, *"short", "tab", *"short", "enter")
        await settle(pilot, app)
        assert text(app, ".error") == "! use a passphrase of at least 10 characters"
        for box in ("#key-pass", "#key-pass2"):
            app.screen.query_one(box, Input).value = "correct horse battery"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "KeysScreen"
        shown = text(app, "#our-key")
        assert shown.startswith("Fingerprint: ")
        assert "(protected by a passphrase)" in shown
        # A second key is refused: partners trust the first.
        await pilot.press("n")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "KeysScreen"
    keys = settings.dir_or_default("keys_dir")
    assert sorted(p.name for p in keys.iterdir()) == ["Y02101.private.jwk", "Y02101.public.jwk"]
    private = (keys / "Y02101.private.jwk").read_text()
    assert private.count(".") == 4 and "correct horse" not in private  # a JWE, wrapped
    assert json.loads((keys / "Y02101.public.jwk").read_text())["kty"] == "EC"


async def test_the_hub_reads_and_declines_a_received_referral(
    isolated_home: Path, tmp_path: Path
) -> None:
    from test_exchange_support import make_referral

    from linkwork.actions import exchange, mesh
    from screening.exchange.keys import write_key_pair

    # The practice: its own database and key; the hub trusted by files.
    practice_url = f"sqlite:///{tmp_path / 'practice.db'}"
    practice = Workspace(
        load_settings(
            database_url=practice_url,
            keys_dir=str(tmp_path / "practice-keys"),
            outbox=str(tmp_path / "practice-out"),
        )
    )
    hub = Workspace(load_settings(outbox=str(tmp_path / "hub-out")))
    write_key_pair(tmp_path / "practice-keys", "practice")
    exchange.new_keys(hub, "hub")
    hub_public = hub.settings.dir_or_default("keys_dir") / "hub.public.jwk"
    mesh.trust_partner(practice, hub_public, "Northside Hub")
    mesh.trust_partner(hub, tmp_path / "practice-keys" / "practice.public.jwk", "Practice")
    made = make_referral(practice_url, shares=("needs",))
    sent = mesh.send_referral(practice, made.referral_id, "Northside Hub")
    assert sent["state"] == "sent" and sent["route"] == "files"
    assert exchange.receive_file(hub, sent["transport_id"])["status"] == "created"

    app = LinkworkApp(hub.settings, build_index=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")
        await settle(pilot, app)
        board = app.screen.query_one("#ref-table", DataTable)
        assert str(board.get_row_at(0)[0]) == made.referral_id[:8]
        await pilot.press("enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReceivedScreen"
        shown = text(app, "#received-text")
        assert "From:      Practice (ODS Y99901)" in shown
        assert "  Z59.0 " in shown and "  Z59.4 " in shown
        # The consent shares needs only: no contact details shown.
        assert "Contact:   not shared: their consent does not cover contact details" in shown
        assert "07700" not in shown
        await pilot.press("d")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "DeclineScreen"
        await pilot.press("enter")
        await settle(pilot, app)
        assert text(app, "#decline-error") == "! A reason is needed to decline."
        await tui_seed.press(pilot, *"Full until April", "enter")
        await settle(pilot, app)
        assert type(app.screen).__name__ == "ReceivedScreen"
        assert "Status:    REJECTED" in text(app, "#received-text")
    # The decline went back by itself: an update file for the practice in the hub's outbox.
    updates = list((tmp_path / "hub-out").glob("update-*.jwe"))
    assert len(updates) == 1
    back = exchange.receive_file(practice, updates[0])
    assert back["status"] == "updated"
    from linkwork.actions.referrals import show_referral

    assert show_referral(practice, made.referral_id)["status"] == "rejected"
