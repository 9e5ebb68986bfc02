"""Checkpoints: the audit chain's head anchored outside the database.

A chain that is consistent in itself proves nothing about rows cut from its end, or about
a stretch edited and rehashed with every later row: anyone who can write the table can do
either. A checkpoint is the chain's head at a moment, ``(org, seq, head hash, time)``,
signed with the organisation's private key (the exchange's EC P-256 JWK, ES256) and kept
in a file outside the database; ``screening.audit.verify_chain`` then checks the table
against every checkpoint: a checkpoint whose row is gone names a cut, one whose row's
hash differs names a rewritten stretch.

The file is JSON lines, one checkpoint a line: readable fields (``org``, ``seq``, ``at``)
beside ``jws``, the compact JWS whose payload is the truth (the readable fields must agree
with it). Each line is appended with one ``write`` to a file opened ``O_APPEND`` (mode
0600, never followed through a symbolic link) and synced, so a line is there whole or not
at all and earlier lines are never rewritten. Reading is bounded: at most
``MAX_LINE_BYTES`` a line, ``MAX_LINES`` lines.

Lines name the database they anchor (``db``: the SQLite file, or PostgreSQL's host, port
and database name, never a user or password), so one data folder serves several databases;
lines about another database are signed like the rest but not compared.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from screening.exchange.files import PRIVATE_FILE, private_folder
from screening.exchange.keys import key_id

ALG = "ES256"
TYP = "linkwork-audit-checkpoint"
VERSION = 1
MAX_LINE_BYTES = 8192  # a checkpoint line is about 600 bytes
MAX_LINES = 200_000  # years of checkpoints after every export, receipt and report
FILE_NAME = "audit-checkpoints.jsonl"


class CheckpointFileError(ValueError):
    """A line of the checkpoint file that cannot be trusted (unsigned, wrongly signed,
    unreadable), or a file too large to read: ``line`` is 1-based, 0 for the whole file."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(why)
        self.line = line
        self.why = why


@dataclass(frozen=True)
class Checkpoint:
    db: str
    org: str
    seq: int
    head: str
    at: str
    kid: str
    line: int = 0
    chain: str | None = None  # the organisation's own chain, or None for the whole table

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "typ": TYP,
            "v": VERSION,
            "db": self.db,
            "org": self.org,
            "seq": self.seq,
            "head": self.head,
            "at": self.at,
        }
        if self.chain is not None:
            data["chain"] = self.chain
        return data


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sign(checkpoint: Checkpoint, key: ECKey) -> str:
    """The checkpoint's line (without its newline): readable fields and the compact JWS."""
    if not key.is_private:
        raise ValueError("signing a checkpoint needs our private key")
    payload = json.dumps(checkpoint.payload(), sort_keys=True, separators=(",", ":"))
    token = jws.serialize_compact(
        {"alg": ALG, "kid": key_id(key), "typ": TYP}, payload, key, algorithms=[ALG]
    )
    line = {"org": checkpoint.org, "seq": checkpoint.seq, "at": checkpoint.at, "jws": token}
    if checkpoint.chain is not None:
        line["chain"] = checkpoint.chain
    return json.dumps(line, separators=(",", ":"))


def append(path: Path, line: str) -> None:
    """Append one line whole (one ``write`` with ``O_APPEND``, then ``fsync``) to the
    checkpoint file, made 0600 in a 0700 folder if new; a symbolic link is refused."""
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    if len(data) > MAX_LINE_BYTES:
        raise ValueError("a checkpoint line is longer than linkwork reads")
    private_folder(path.parent)
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, PRIVATE_FILE)
    except OSError as exc:
        raise ValueError(f"cannot write the checkpoint file {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if hasattr(os, "geteuid") and info.st_uid == os.geteuid() and info.st_mode & 0o077:
            os.fchmod(fd, PRIVATE_FILE)
        if info.st_size and _last_byte(fd, info.st_size) != b"\n":
            data = b"\n" + data  # a line cut short by a crash stays apart (and is reported)
        written = os.write(fd, data)
        if written != len(data):
            raise ValueError(f"the checkpoint file {path} is full: only part of a line was written")
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_byte(fd: int, size: int) -> bytes:
    return os.pread(fd, 1, size - 1)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CheckpointFileError(0, f"cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        number = 0
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if number > MAX_LINES:
                raise CheckpointFileError(
                    0, f"holds more than {MAX_LINES:,} lines: more than linkwork reads"
                )
            if len(raw) > MAX_LINE_BYTES:
                raise CheckpointFileError(number, "is longer than a checkpoint")
            yield number, raw


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(name)
    return value


def read(path: Path, keys: Callable[[str], ECKey | None]) -> list[Checkpoint]:
    """Every checkpoint in ``path`` (none if it does not exist), each signature checked
    with ``keys(kid)`` (our public keys). ``CheckpointFileError`` naming the first line
    that is not JSON, not signed, signed with 'none' or by a key that is not ours, or whose
    readable fields differ from what was signed; blank lines are skipped."""
    found: list[Checkpoint] = []
    for number, raw in _lines(path):
        if not raw.strip():
            continue
        try:
            outer = json.loads(raw)
        except (ValueError, RecursionError):
            raise CheckpointFileError(number, "is not a checkpoint (not JSON)") from None
        token = outer.get("jws") if isinstance(outer, dict) else None
        if not isinstance(token, str) or token.count(".") != 2:
            raise CheckpointFileError(number, "is not signed")
        checkpoint = _open(token, keys, number)
        readable = {k: outer.get(k) for k in ("org", "seq", "at", "chain") if k in outer}
        if any(readable[k] != getattr(checkpoint, k) for k in readable):
            raise CheckpointFileError(number, "does not match what was signed")
        found.append(checkpoint)
    return found


def _open(token: str, keys: Callable[[str], ECKey | None], number: int) -> Checkpoint:
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise CheckpointFileError(number, "is not signed (unreadable signature)") from None
    alg = header.get("alg")
    if alg != ALG:
        raise CheckpointFileError(number, f"is not signed with {ALG} (alg {alg!r})")
    kid = header.get("kid")
    key = keys(kid) if isinstance(kid, str) and kid else None
    if key is None:
        raise CheckpointFileError(number, f"is signed by key {kid!r}, which is not ours")
    try:
        verified = jws.deserialize_compact(token, key, algorithms=[ALG])
    except (JoseError, ValueError, TypeError):
        raise CheckpointFileError(number, "has a signature that does not match") from None
    try:
        data = json.loads(verified.payload)
        if not isinstance(data, dict) or data.get("typ") != TYP:
            raise ValueError("typ")
        chain = data.get("chain")
        if chain is not None and not isinstance(chain, str):
            raise ValueError("chain")
        seq = _field(data, "seq", int)
        head = _field(data, "head", str)
        if seq < 1 or len(head) != 64:
            raise ValueError("seq")
        return Checkpoint(
            db=_field(data, "db", str),
            org=_field(data, "org", str),
            seq=seq,
            head=head,
            at=_field(data, "at", str),
            kid=str(kid),
            line=number,
            chain=chain,
        )
    except (ValueError, RecursionError):
        raise CheckpointFileError(number, "is signed but is not a checkpoint") from None
