"""Hostile feeds on this machine, for the tests and ``bench/import_hostile.py``: a pipe that
never ends, an ORUK server that never stops paging (or never stops one page), and a way to
run ``linkwork`` in a child process and read its peak memory.

Nothing here leaves the machine: servers listen on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import errno
import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]


# --- a pipe that never ends -------------------------------------------------------------


@contextmanager
def endless_pipe(path: Path, chunk: Callable[[], bytes], head: bytes = b"") -> Iterator[list[int]]:
    """A FIFO at ``path`` fed by a thread: ``head`` then ``chunk()`` again and again until the
    reader lets go (or the block ends). Yields a one-item list: the bytes written so far."""
    os.mkfifo(path)
    stop = threading.Event()
    written = [0]

    def feed() -> None:
        fd = None
        while fd is None and not stop.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:  # no reader yet
                if exc.errno != errno.ENXIO:
                    return
                time.sleep(0.005)
        if fd is None:
            return
        os.set_blocking(fd, True)
        try:
            data = head
            while not stop.is_set():
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    written[0] += n
                    view = view[n:]
                data = chunk()
        except OSError:  # the reader closed the pipe: it stopped reading, as it should
            pass
        finally:
            os.close(fd)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield written
    finally:
        stop.set()
        thread.join(10)


def random_bytes() -> bytes:
    return os.urandom(1 << 16)


def endless_csv_rows() -> Iterator[bytes]:
    """Valid CSV rows, each a new service, for ever."""
    n = 0
    while True:
        rows = "".join(f"s{n + i},Endless Service {n + i}\n" for i in range(1000))
        n += 1000
        yield rows.encode()


# --- an ORUK server that never ends ---------------------------------------------------


def service(n: int, description_chars: int = 60) -> dict[str, object]:
    return {
        "id": f"svc-{n}",
        "name": f"Endless Service {n}",
        "description": ("Help for people who need it. " * (description_chars // 29 + 1))[
            :description_chars
        ],
        "organization": {"id": "org-1", "name": "Endless Trust"},
    }


def page_body(mode: str, number: int, per_page: int = 10, description_chars: int = 60) -> bytes:
    """The answer to ``?page=number`` of a server behaving as ``mode``:

    - ``same-1e9``: the same page every time, saying there are 1e9 pages and it is not the last;
    - ``same-last-false``: the same page every time, ``last: false`` and no page count;
    - ``same-services``: the page number moves on but the services do not;
    - ``changing``: new services on every page, ``last: false`` for ever;
    - ``changing-1e9``: new services on every page, ``totalPages`` 1,000,000,000;
    - ``finite``: an ordinary feed of five pages.
    """
    if mode.startswith("same-"):
        items = [service(i, description_chars) for i in range(per_page)]
    else:
        first = (number - 1) * per_page
        items = [service(first + i, description_chars) for i in range(per_page)]
    doc: dict[str, object] = {"number": number, "size": per_page, "first": number == 1}
    if mode in ("same-1e9", "same-last-false"):
        doc["number"], doc["first"] = 1, True
    if mode in ("same-1e9", "changing-1e9"):
        doc["totalPages"] = 1e9
        doc["totalElements"] = 1e9 * per_page
    doc["last"] = False
    if mode == "finite":
        doc["totalPages"], doc["last"] = 5, number >= 5
    doc["content"] = items
    return json.dumps(doc).encode()


@dataclass
class Server:
    url: str
    requests: list[str] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # one write per answer (no waiting on delayed acknowledgements)
    mode = "changing"
    per_page = 10
    description_chars = 60
    seen: list[str]

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, body: bytes, status: int = 200, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _endless_chunks(self, first: bytes, chunk: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            self.close_connection = True

    def do_GET(self) -> None:
        self.seen.append(self.path)
        url = urlparse(self.path)
        number = int(parse_qs(url.query).get("page", ["1"])[0])
        mode = self.mode
        if mode == "endless-body":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._endless_chunks(b'{"content": [', b'{"id": "x", "name": "Endless"},' * 2000)
        elif mode == "huge-length":
            self.send_response(200)
            self.send_header("Content-Length", str(10 << 30))
            self.end_headers()
            self.wfile.write(b'{"content": [')
            self.close_connection = True
        elif mode == "gzip-bomb":
            body = gzip.compress(b'{"content": [' + b" " * (24 << 20) + b"]}", 9)
            self._send(body, Content_Encoding="gzip")
        elif mode == "redirect-loop":
            self.send_response(302)
            self.send_header("Location", url.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "redirect-endless-body" and url.path.startswith("/api/"):
            self.send_response(302)
            self.send_header("Location", "/moved" + self.path)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._endless_chunks(b"<html>", b"moved " * 10000)
        elif mode == "redirect-endless-body":
            doc = {"totalPages": 1, "number": 1, "last": True, "content": [service(1)]}
            self._send(json.dumps(doc).encode())
        else:
            self._send(page_body(mode, number, self.per_page, self.description_chars))


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client hung up mid-answer: what it should do with an endless one


@contextmanager
def oruk_server(mode: str, per_page: int = 10, description_chars: int = 60) -> Iterator[Server]:
    """An ORUK API at ``Server.url`` (``.../api``) answering as ``mode`` (see ``page_body``;
    also ``endless-body``, ``huge-length``, ``gzip-bomb``, ``redirect-loop`` and
    ``redirect-endless-body``); ``Server.requests`` lists the paths asked for."""
    seen: list[str] = []
    handler = type(
        "Handler",
        (_Handler,),
        {
            "mode": mode,
            "per_page": per_page,
            "description_chars": description_chars,
            "seen": seen,
        },
    )
    server = _QuietServer(("127.0.0.1", 0), handler)
    # shutdown() waits for serve_forever to notice it: every 20 ms, not the default 0.5 s
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{server.server_address[1]}/api", seen)
    finally:
        server.shutdown()
        server.server_close()


# --- linkwork in a child process, measured ----------------------------------------------

_CHILD = """
import atexit, os, sys

def _peak() -> None:  # this process's own high-water mark (reset by exec, unlike ru_maxrss)
    with open("/proc/self/status") as status:
        peak = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "")
    with open(os.environ["HOSTILE_PEAK_FILE"], "w") as out:
        out.write(peak)

if os.path.exists("/proc/self/status"):
    atexit.register(_peak)
from linkwork.cli import main
main(sys.argv[1:])
"""


@dataclass
class Run:
    code: int
    err: str
    seconds: float
    peak_rss_mb: float


def run_measured(
    args: list[str], env: dict[str, str], timeout: float = 300.0, err_file: Path | None = None
) -> Run:
    """``linkwork ARGS`` in a child process: its exit code, stderr, wall time and peak
    resident memory. The peak is the child's own ``VmHWM`` (``/proc``), written as it exits;
    ``ru_maxrss`` from ``os.wait4`` where there is no ``/proc`` (it also counts the memory
    of the parent it was forked from, before ``exec``)."""
    err_path = err_file or Path(env.get("LINKWORK_HOME", "/tmp")) / "stderr.txt"
    err_path.parent.mkdir(parents=True, exist_ok=True)
    peak_path = err_path.with_name(err_path.name + ".peak")
    peak_path.unlink(missing_ok=True)
    with open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**env, "HOSTILE_PEAK_FILE": str(peak_path)},
            cwd=ROOT,
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    reported = peak_path.read_text().strip() if peak_path.exists() else ""
    peak_kb = int(reported) if reported.isdigit() else usage.ru_maxrss  # both in kilobytes
    return Run(
        proc.returncode,
        err_path.read_text(encoding="utf-8", errors="replace"),
        seconds,
        peak_kb / 1024,
    )
