"""How sealed messages travel: one small protocol, two transports.

A transport sends bytes to a partner's address and returns its own id for what it sent;
lists the ids of what waits for us; fetches one; acknowledges one (after it was imported
and committed, so a crash in between only means it is fetched again); and, where it can,
says what became of a message sent (``track``); finds a message we sent by our own local
id (``find``: did an earlier try get through?); and counts what waits for us (``waiting``).
``FolderTransport`` is the fallback for sites without MESH: the outbox and inbox folders, a
file per message, carried by hand or by whatever the site uses;
``screening.exchange.mesh.MeshTransport`` is NHS MESH.

A failure is a ``TransportError`` in words with a ``kind``: ``unreachable`` (the server
is down or the network is: try again later), ``refused`` (our login: the user must fix
a setting), ``recipient`` (the partner's address is unknown: fix the partner's route),
``other``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from screening.exchange.files import atomic_write, private_folder
from screening.exchange.jose import MAX_FILE_BYTES

UNREACHABLE = "unreachable"
REFUSED = "refused"
RECIPIENT = "recipient"
OTHER = "other"


class TransportError(Exception):
    """A message could not be moved; ``str()`` is one line for the user."""

    def __init__(self, message: str, kind: str = OTHER) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Incoming:
    """A message waiting for us: the transport's id, who sent it (a MESH mailbox or a file
    name), and its bytes (at most ``MAX_FILE_BYTES`` + 1: anything larger is refused as
    too large when opened, never read whole)."""

    id: str
    sender: str
    data: bytes
    source: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class Transport(Protocol):
    name: str

    def send(self, data: bytes, *, to: str, local_id: str, subject: str) -> str: ...

    def poll(self) -> Iterator[str]: ...

    def fetch(self, message_id: str) -> Incoming: ...

    def acknowledge(self, message_id: str) -> None: ...

    def track(self, message_id: str) -> tuple[str, str] | None: ...

    def find(self, local_id: str) -> str | None: ...

    def waiting(self) -> int: ...

    def close(self) -> None: ...


class FolderTransport:
    """The outbox and inbox folders: a message is a ``.jwe`` file (mode 0600, written
    atomically); received files move to ``inbox/imported/`` once imported."""

    name = "files"

    def __init__(self, outbox: Path, inbox: Path) -> None:
        self.outbox = outbox
        self.inbox = inbox

    def send(self, data: bytes, *, to: str, local_id: str, subject: str) -> str:
        folder = private_folder(self.outbox)
        target = folder / f"{subject}-{local_id[:8]}.jwe" if subject else folder / local_id
        atomic_write(target, data, mode=0o600)
        return str(target)

    def poll(self) -> Iterator[str]:
        if not self.inbox.is_dir():
            return iter(())
        return iter(sorted(p.name for p in self.inbox.glob("*.jwe") if p.is_file()))

    def fetch(self, message_id: str) -> Incoming:
        path = self.inbox / message_id
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise TransportError(f"cannot read {path}: {exc.strerror or exc}") from None
        return Incoming(message_id, message_id, data, self.name)

    def acknowledge(self, message_id: str) -> None:
        done = private_folder(self.inbox / "imported")
        try:
            (self.inbox / message_id).replace(done / message_id)
        except OSError as exc:
            raise TransportError(f"cannot move {message_id}: {exc.strerror or exc}") from None

    def track(self, message_id: str) -> tuple[str, str] | None:
        return None  # a file says nothing of who read it

    def find(self, local_id: str) -> str | None:
        return None  # a file is written inside the transaction that records it

    def waiting(self) -> int:
        return sum(1 for _ in self.poll())

    def close(self) -> None:
        pass
