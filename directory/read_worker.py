"""Reading a feed in a second process while this one writes (issue 18: the import's two
halves on the machine's two cores).

A feed of local files large enough to gain (``MIN_BYTES``) is read in a child process forked
for it, by the very code that reads it here (``directory.importer``'s reader, passed in):
its records come back through a pipe a few hundred at a time, encoded by msgspec
(MessagePack: the same values, floats bit for bit; pickle for a batch it cannot encode),
each batch with the rejections and notes read with it. Last comes the end of the feed
(whether it was whole, its format, the budget's totals) or the error that stopped it, the
same exception raised again here. The pipe holds little and the child waits while it is
full, so memory stays flat however large the feed (issue 18 point 5): a page being read in
the child, a batch in the pipe, the batch being written here. What a user sees is the same:
the same records, notes, rejections and messages, in the same order.

Forked only where that is safe: ``os.fork`` exists and this process runs no other thread (a
fork copies only the calling thread: a lock another held would never be let go in the
child). The child touches no database connection and leaves with ``os._exit`` (no clean-up
of what it shares with this process runs twice).
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import signal
import threading
import traceback
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import msgspec

from directory.records import Rejected, ServiceRecord, UnchangedRecord
from directory.sources import Feed

MIN_BYTES = 4 * 1024 * 1024
"""The least a feed's files hold for it to be read in a second process (below, forking
costs more than it gains)."""
BATCH = 250
"""Records sent at a time."""

_RECORDS, _PICKLED, _END, _ERROR = b"R", b"P", b"E", b"X"


class _Batch(msgspec.Struct, array_like=True):
    services: list[ServiceRecord]
    digests: list[str]  # each service's content_hash(), worked out in the child
    unchanged: list[UnchangedRecord]
    order: bytes  # one byte per record, in the order read: b"s" a service, b"u" unchanged
    rejected: list[Rejected]
    notes: list[dict[str, str]]


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(_Batch)

Reader = Callable[[], Iterator[ServiceRecord | UnchangedRecord]]


def wanted(feed: Feed) -> bool:
    """Whether ``feed`` is read in a second process."""
    return feed.local_bytes >= MIN_BYTES and hasattr(os, "fork") and threading.active_count() == 1


def read_in_child(
    feed: Feed, summary: Any, read: Reader
) -> Generator[ServiceRecord | UnchangedRecord, None, None]:
    """What ``read()`` yields, read in a forked child; ``summary`` (an ``ImportSummary``)
    gets its rejections and notes, ``feed`` its ``full``, ``format`` and budget totals, as
    reading it here would leave them. Read here if no process can be started."""
    try:
        readable, writable = os.pipe()
        _widen(writable)
    except OSError:  # (no file descriptor left)
        yield from read()
        return
    try:
        pid = os.fork()
    except OSError:  # (no process or memory left for one)
        os.close(readable)
        os.close(writable)
        yield from read()
        return
    if pid == 0:  # the child
        code = 1
        try:
            os.close(readable)
            gc.freeze()  # what this process held is never collected here: not walked again
            _child(writable, feed, summary, read)
            code = 0
        finally:
            os._exit(code)
    os.close(writable)
    close = getattr(feed.entries, "close", None)
    if close is not None:
        close()  # the child reads them (this copy was never started)
    done = False
    stream = os.fdopen(readable, "rb")
    frames = _Drain(stream)
    try:
        while True:
            kind, body = frames.get()
            if kind == b"":
                raise RuntimeError(f"{feed.location}: the feed's reader stopped unexpectedly")
            if kind == _END:
                done = True
                _finish(feed, pickle.loads(body))
                summary.format, summary.full = feed.format, feed.full
                return
            if kind == _ERROR:
                done = True
                error, state = pickle.loads(body)
                _finish(feed, state)
                raise error from None
            batch = _decode(body) if kind == _RECORDS else pickle.loads(body)
            summary.rejected.extend(batch.rejected)
            summary.notes.extend(batch.notes)
            for record, digest in zip(batch.services, batch.digests, strict=True):
                record.known_hash = digest
            services, unchanged = iter(batch.services), iter(batch.unchanged)
            for what in batch.order:
                yield next(services) if what == 0x73 else next(unchanged)
    finally:
        if not done:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        frames.stop()
        stream.close()
        os.waitpid(pid, 0)


PIPE_BYTES = 1 << 20
"""What the pipe is asked to hold (Linux's default limit for an unprivileged process): a
few frames rather than a fifth of one."""


def _widen(fd: int) -> None:
    """Ask for a pipe holding ``PIPE_BYTES`` (Linux): with the default 64 KiB, the child
    stopped several times a frame until the drain thread had the interpreter's lock to
    empty it (the writing process holds it in turns of up to 5 ms), and the two processes
    waited on each other; 100k services, reading and writing 8.7-9.9 -> 7.6-8.2 s wall.
    Elsewhere, or refused, the pipe stays as it is."""
    import fcntl

    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is None:
        return
    with suppress(OSError):
        fcntl.fcntl(fd, setsize, PIPE_BYTES)


class _Drain:
    """The pipe read by a thread into a queue of at most ``QUEUED`` frames: the child reads
    on while this process writes a batch of rows (a pipe holds 64 KiB, a fraction of one
    frame: the two processes took turns instead of working at once), and what is in
    flight stays bounded."""

    QUEUED = 16

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._frames: queue.Queue[tuple[bytes, bytes]] = queue.Queue(self.QUEUED)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-reader", daemon=True)
        self._thread.start()

    def _put(self, frame: tuple[bytes, bytes]) -> bool:
        while not self._stopping.is_set():
            try:
                self._frames.put(frame, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while True:
                head = self._stream.read(5)
                if len(head) < 5:
                    break
                body = self._stream.read(int.from_bytes(head[1:], "big"))
                if not self._put((head[:1], body)) or head[:1] in (_END, _ERROR):
                    return
        except (OSError, ValueError):
            pass  # (the stream closed under it: stopping)
        self._put((b"", b""))  # the child stopped without its end

    def get(self) -> tuple[bytes, bytes]:
        return self._frames.get()

    def stop(self) -> None:
        """Let the thread go (the child has ended or been killed: its read sees the end)."""
        self._stopping.set()
        self._thread.join()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused (and put back as it was): an import's records
    and rows hold no cycles (reference counting frees them), while the many objects each
    batch makes would otherwise set off collections that walk everything the process
    holds (the index being built, the caches) again and again."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _decode(body: bytes) -> _Batch:
    """A batch of records, decoded with the cyclic garbage collector paused."""
    with collector_paused():
        return _DECODER.decode(body)


def _child(fd: int, feed: Feed, summary: Any, read: Reader) -> None:
    out = os.fdopen(fd, "wb")
    rejected, notes = len(summary.rejected), len(summary.notes)
    services: list[ServiceRecord] = []
    digests: list[str] = []
    unchanged: list[UnchangedRecord] = []
    order = bytearray()

    def send(kind: bytes, body: bytes) -> None:
        out.write(kind + len(body).to_bytes(4, "big"))
        out.write(body)

    def flush() -> None:
        nonlocal rejected, notes
        batch = _Batch(
            services,
            digests,
            unchanged,
            bytes(order),
            summary.rejected[rejected:],
            summary.notes[notes:],
        )
        rejected, notes = len(summary.rejected), len(summary.notes)
        try:
            send(_RECORDS, _ENCODER.encode(batch))
        except (TypeError, ValueError, msgspec.EncodeError):  # (text it cannot write)
            send(_PICKLED, pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
        services.clear()
        digests.clear()
        unchanged.clear()
        order.clear()

    try:
        for record in read():
            if isinstance(record, ServiceRecord):
                services.append(record)
                digests.append(record.content_hash())  # worked out here, not there
                order.append(0x73)
            else:
                unchanged.append(record)
                order.append(0x75)
            if len(order) >= BATCH:
                flush()
        flush()
        send(_END, pickle.dumps(_state(feed)))
    except BrokenPipeError:
        return  # this side stopped reading: nothing more is wanted
    except BaseException as exc:  # the same error, raised again on the other side
        if services or unchanged or summary.rejected[rejected:] or summary.notes[notes:]:
            flush()
        if not isinstance(exc, ValueError):  # not a fault of the feed: where it happened
            exc.add_note("".join(traceback.format_exception(exc)).rstrip())
        try:
            body = pickle.dumps((exc, _state(feed)))
        except Exception:
            body = pickle.dumps((RuntimeError(str(exc)), _state(feed)))
        send(_ERROR, body)
    finally:
        with suppress(BrokenPipeError):
            out.close()


def _state(feed: Feed) -> dict[str, Any]:
    """What reading changed of the feed besides its records."""
    budget = {k: v for k, v in vars(feed.budget).items() if k not in ("limits", "location")}
    return {"full": feed.full, "format": feed.format, "budget": budget}


def _finish(feed: Feed, state: dict[str, Any]) -> None:
    feed.full, feed.format = state["full"], state["format"]
    for key, value in state["budget"].items():
        setattr(feed.budget, key, value)
