"""Shared set-up for the MESH tests (no tests here): NHS England's mesh-sandbox run with
uvicorn on a free loopback port (one per test module), each start a new process forked from
a launcher that has imported both once (tests/mesh_fork_support.py), and two linkwork
databases, a practice (mailbox X26ABC1) and a hub (X26ABC2), each with its own keys,
folders and MESH settings, trusting each other with MESH routes.

The sandbox checks every request's MESH authorisation token (``AUTH_MODE=full``, with our
own shared key) and keeps its messages in files (``STORE_MODE=file``), so a restart loses
nothing (the memory store would lose every message on restart).
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_exchange_support import PRACTICE_ODS

PRACTICE_MAILBOX = "X26ABC1"
HUB_MAILBOX = "X26ABC2"
PASSWORD = "password"  # the sandbox's bundled mailboxes' password
SHARED_KEY = "linkwork-test-shared-key"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Launcher:
    """tests/mesh_fork_support.py run once per test process: it has imported uvicorn and
    mesh-sandbox, and forks a fresh server for each start (see there)."""

    _process: subprocess.Popen[str] | None = None

    @classmethod
    def ask(cls, line: str) -> str:
        if cls._process is None or cls._process.poll() is not None:
            cls._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("mesh_fork_support.py"))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
            atexit.register(cls.close)
        process = cls._process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(line + "\n")
        process.stdin.flush()
        reply = process.stdout.readline()
        if not reply:
            raise RuntimeError(f"the mesh-sandbox launcher stopped ({process.wait()})")
        return reply.strip()

    @classmethod
    def close(cls) -> None:
        process, cls._process = cls._process, None
        if process is not None and process.stdin is not None:
            process.stdin.close()  # it stops any sandbox still running, then exits
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Server:
    """A running sandbox: a process forked by the launcher."""

    pid: int

    def poll(self) -> int | None:
        reply = _Launcher.ask(f"poll {self.pid}")
        return None if reply == "running" else int(reply.split()[1])

    def stop(self) -> int:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL after 10 s; its exit status."""
        return int(_Launcher.ask(f"stop {self.pid}").split()[1])


@dataclass
class Sandbox:
    store: Path
    log: Path
    port: int = field(default_factory=free_port)
    process: Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            AUTH_MODE="full",
            SHARED_KEY=SHARED_KEY,
            STORE_MODE="file",
            MAILBOXES_DATA_DIR=str(self.store),
        )
        spec = {"port": self.port, "log": str(self.log), "env": env}
        reply = _Launcher.ask("start " + json.dumps(spec))
        self.process = Server(int(reply.split()[1]))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"mesh-sandbox stopped: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.005)
        raise RuntimeError("mesh-sandbox did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self, mailbox: str) -> Any:
        from mesh_client import MeshClient

        return MeshClient(
            self.url, mailbox, PASSWORD, shared_key=SHARED_KEY.encode(), max_retries=0
        )

    def inbox(self, mailbox: str) -> list[str]:
        with self.client(mailbox) as client:
            return list(client.list_messages())

    def drain(self) -> None:
        """Empty both mailboxes (what an earlier test left)."""
        for mailbox in (PRACTICE_MAILBOX, HUB_MAILBOX):
            with self.client(mailbox) as client:
                for ident in client.list_messages():
                    client.acknowledge_message(ident)


def sandbox_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    folder = tmp_path_factory.mktemp("mesh-sandbox")
    box = Sandbox(store=folder / "store", log=folder / "sandbox.log")
    box.store.mkdir()
    box.start()
    try:
        yield box
    finally:
        box.stop()


@dataclass
class Side:
    name: str
    url: str
    mailbox: str
    ods: str
    folder: Path

    @property
    def keys(self) -> Path:
        return self.folder / "keys"

    def env(self, mp: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
        values = {
            "LINKWORK_MESH_URL": sandbox.url,
            "LINKWORK_MESH_MAILBOX": self.mailbox,
            "LINKWORK_MESH_PASSWORD": PASSWORD,
            "LINKWORK_MESH_SHARED_KEY": SHARED_KEY,
            "LINKWORK_MESH_TIMEOUT": "5",
            "LINKWORK_KEYS_DIR": str(self.keys),
            "LINKWORK_OUTBOX": str(self.folder / "outbox"),
            "LINKWORK_INBOX": str(self.folder / "inbox"),
            "LINKWORK_PRACTICE": self.ods,
            "LINKWORK_USER": f"{self.name}.worker",
        }
        for key, value in values.items():
            mp.setenv(key, value)


@dataclass
class Pair:
    practice: Side
    hub: Side
    sandbox: Sandbox
    cli: Any
    mp: pytest.MonkeyPatch

    def run(self, side: Side, *args: Any) -> Any:
        side.env(self.mp, self.sandbox)
        return self.cli(*args, db=side.url)

    def ok(self, side: Side, *args: Any) -> Any:
        result = self.run(side, *args)
        assert result.code == 0, (args, result.out, result.err)
        return result

    def sync(self, side: Side, *extra: str) -> dict[str, Any]:
        result = self.run(side, "mesh", "sync", "--json", *extra)
        assert result.code == 0, (side.name, result.out, result.err)
        data: dict[str, Any] = result.json()
        return data

    def show(self, side: Side, referral_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.ok(side, "referral", "show", referral_id, "--json").json()
        return data


def make_pair(
    cli: Any,
    mp: pytest.MonkeyPatch,
    sandbox: Sandbox,
    practice_url: str,
    hub_url: str,
    tmp_path: Path,
    *,
    hub_mailbox: str = HUB_MAILBOX,
) -> Pair:
    """Both sides with their own keys, trusting each other's public key with MESH routes
    (the practice reaches the hub at ``hub_mailbox``)."""
    pair = Pair(
        Side("practice", practice_url, PRACTICE_MAILBOX, PRACTICE_ODS, tmp_path / "practice"),
        Side("hub", hub_url, HUB_MAILBOX, "Y88802", tmp_path / "hub"),
        sandbox,
        cli,
        mp,
    )
    for side in (pair.practice, pair.hub):
        pair.ok(side, "keys", "new", side.name)
    pair.ok(
        pair.practice,
        "keys", "trust", pair.hub.keys / "hub.public.jwk", "--name", "hub",
        "--mesh-mailbox", hub_mailbox,
    )  # fmt: skip
    pair.ok(
        pair.hub,
        "keys", "trust", pair.practice.keys / "practice.public.jwk", "--name", "practice",
        "--mesh-mailbox", PRACTICE_MAILBOX,
    )  # fmt: skip
    sandbox.drain()
    return pair
