"""MESH in the app: a background sync every ``mesh_sync_seconds`` (off when MESH is not set
up, or when the setting is 0) and on demand (F9, or the command palette), and the status
line that says when it last synced and how many messages wait.

The sync is ``linkwork.actions.mesh.sync`` (what ``linkwork mesh sync`` runs), in a thread
worker; one at a time. A key that needs its passphrase is asked for only on demand: the
timer's sync then waits and the status line says so."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from linkwork.errors import plain_error
from tui.widgets.plain import Static

if TYPE_CHECKING:
    from tui.app import LinkworkApp


class MeshSync:
    """The app's MESH state: set up or not, the last sync, what waits; the status line."""

    def __init__(self, app: LinkworkApp) -> None:
        self.app = app
        self.set_up = False
        self.last_sync: datetime | None = None
        self.last_result = ""
        self.waiting = 0
        self.failed = 0
        self.quarantined = 0
        self.inbox: int | None = None  # messages waiting in our MESH inbox (None: unknown)
        self.running = False
        self.timer: Any = None
        self.locked = False

    # -- start-up ---------------------------------------------------------------------------
    def start(self) -> None:
        """After the database opened: read where delivery stands; start the timer. Without
        MESH set up (settings do not change while the app runs) the status line stays
        hidden, so nothing is read (nor the exchange's crypto loaded) at start-up."""
        if self.app.settings.mesh_set_up:
            self.refresh_status(start=True)

    def refresh_status(self, *, start: bool = False) -> None:
        self.app.run_worker(
            lambda: self._status(start), thread=True, exit_on_error=False, group="mesh-status"
        )

    def _status(self, start: bool) -> None:
        try:
            found = self.app.actions.partners.delivery_status(self.app.workspace, peek=True)
        except Exception:
            return  # the status line is a courtesy: the next sync tries again
        self.app.call_from_thread(self._got_status, found, start)

    def _got_status(self, found: dict[str, Any], start: bool) -> None:
        self.set_up = bool(found["mesh"])
        self.waiting, self.failed = int(found["waiting"]), int(found["failed"])
        self.quarantined = int(found["quarantined"])
        self.inbox = found.get("inbox")
        seconds = int(found["sync_seconds"] or 0)
        if start and self.set_up and seconds > 0 and self.timer is None:
            self.timer = self.app.set_interval(seconds, self.background)
            self.app.set_timer(1.0, self.background)  # a first sync soon after opening
        self.show()

    # -- syncing ----------------------------------------------------------------------------
    def background(self) -> None:
        if self.app.locked or self.running or self.locked:
            return
        self.sync(on_demand=False)

    def sync_now(self) -> None:
        if not self.set_up:
            self.app.notify(
                "MESH is not set up: give its server and our mailbox (LINKWORK_MESH_URL, "
                "LINKWORK_MESH_MAILBOX, LINKWORK_MESH_PASSWORD). Files still go by the "
                "outbox and inbox folders (I on Referrals imports replies).",
                severity="warning",
                timeout=10,
            )
            return
        if self.running:
            self.app.notify("A MESH sync is already running.")
            return
        self.sync(on_demand=True)

    def sync(self, *, on_demand: bool) -> None:
        self.running = True
        self.show()
        self.app.run_worker(
            lambda: self._sync(on_demand),
            thread=True,
            exit_on_error=False,
            exclusive=True,
            group="mesh-sync",
        )

    def _sync(self, on_demand: bool) -> None:
        from linkwork.errors import KeyLocked

        started = time.perf_counter()
        try:
            result = self.app.actions.mesh.sync(self.app.workspace)
        except KeyLocked:
            self.app.call_from_thread(self._key_locked, on_demand)
            return
        except Exception as exc:
            self.app.call_from_thread(self._failed, plain_error(exc), on_demand)
            return
        result["seconds"] = time.perf_counter() - started
        self.app.call_from_thread(self._synced, result, on_demand)

    def _key_locked(self, on_demand: bool) -> None:
        self.running = False
        self.locked = True
        self.show()
        if on_demand:
            from tui.screens.passphrase import unlock_then

            unlock_then(
                self.app.screen,
                "open and sign MESH messages",
                self._unlocked,
                "Not synced: the private key is still locked.",
            )

    def _unlocked(self) -> None:
        self.locked = False
        self.sync(on_demand=True)

    def _failed(self, words: str, on_demand: bool) -> None:
        self.running = False
        self.last_result = f"sync failed: {words}"
        self.show()
        if on_demand:
            self.app.notify(f"MESH sync failed: {words}", severity="error", timeout=10)

    def _synced(self, result: dict[str, Any], on_demand: bool) -> None:
        self.running = False
        self.last_sync = datetime.now()
        if "inbox" in result:
            self.inbox = result["inbox"]
        self.last_result = (
            f"{result['sent']} sent, {result['received']} received, "
            f"{result['quarantined']} quarantined"
            + (f", {result['failed']} failed" if result["failed"] else "")
        )
        news = result["applied"] or result["quarantined"] or result["failed"]
        if on_demand or news:
            warn = bool(result["failed"] or result["quarantined"])
            self.app.notify(
                result["message"], severity="warning" if warn else "information", timeout=8
            )
        self.refresh_status()
        if news or result["sent"]:
            self.app.refresh_screen()

    # -- the status line --------------------------------------------------------------------
    def line(self) -> str:
        if not self.set_up:
            return ""
        parts = []
        if self.running:
            parts.append("MESH: syncing...")
        elif self.last_sync is not None:
            parts.append(f"MESH: last synced {self.last_sync.strftime('%H:%M')}")
        else:
            parts.append("MESH: not synced yet")
        parts.append(f"{self.waiting} waiting to send")
        if self.inbox is not None:
            parts.append(f"{self.inbox} in our inbox")
        if self.failed:
            parts.append(f"{self.failed} FAILED")
        if self.quarantined:
            parts.append(f"{self.quarantined} QUARANTINED")
        if self.locked:
            parts.append("key locked: F9 to unlock and sync")
        elif self.last_result.startswith("sync failed"):
            parts.append(self.last_result)
        return "  |  ".join(parts) + "  (F9 sync now)"

    def show(self) -> None:
        self.app.mesh_line = self.line()


class MeshBar(Static):
    """The status line above the footer: MESH's last sync and what waits, in words
    (hidden when MESH is not set up)."""

    def on_mount(self) -> None:
        self.watch(self.app, "mesh_line", self._show)

    def _show(self, text: str) -> None:
        self.update(text)
        self.display = bool(text)
