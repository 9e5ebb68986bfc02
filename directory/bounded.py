"""Reading a feed as hostile input: every read bounded, JSON checked before it is parsed.

A feed is whatever arrives: a file, a device (``/dev/urandom``), a pipe, a gzip bomb, a
server that never stops paging. Nothing here trusts its size, its shape or its speed:

- ``Limits``: the bytes one page (a JSON file or response) and one feed may hold, and the
  pages and services one import reads (the settings ``import_max_*``, named in each error).
- ``Budget``: one import's running totals; going over a limit is a ``FeedTooLarge``.
- ``read_page`` / ``read_lines``: a file's bytes (whole, for JSON) or its lines (streamed,
  for CSV), gzip undone as it is read, never more than the limits allow.
- ``http_page``: one HTTP response streamed and cut at the limit; redirects followed here
  (httpx itself reads a redirect's body whole), and a page that takes too long abandoned.
- ``load_json``: a page's JSON with its nesting depth, its number of values and the length
  of its numbers checked before the parser runs (no RecursionError, no 5,000-digit int).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import stat
import time
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from directory.untrusted import strip_controls

if TYPE_CHECKING:
    import httpx

MiB = 1024 * 1024

MAX_DEPTH = 64
"""Deepest nesting of JSON arrays and objects read (ORUK 3.0 needs about ten)."""
MAX_NUMBER_CHARS = 100
"""Longest number literal in a JSON feed (Python itself refuses ints over 4,300 digits)."""
BYTES_PER_VALUE = 16
"""A page may hold one JSON value per this many bytes of ``page_bytes`` (real feeds use about
40): parsing ``[{},{},...]`` would otherwise take 25 bytes of memory for each byte read."""
MAX_LINE_CHARS = 1_048_576
"""Longest line of a CSV file (a field may span lines; the csv module caps a field itself)."""
PAGE_SECONDS = 300.0
"""Longest wait for one whole HTTP page (each read also has its own timeout)."""
MAX_REDIRECTS = 5
ENTRIES_PER_SERVICE = 10
"""Opening times, locations, contacts, phone numbers, languages and categories the services
of one feed may hold, on average, for each service ``import_max_services`` allows (real
services have three to fifteen): a feed of small services with a thousand entries each
would otherwise take ten times its size in memory."""


@dataclass(frozen=True)
class Limits:
    """How much one import may read (the settings ``import_max_page_bytes`` and so on)."""

    page_bytes: int = 16 * MiB
    feed_bytes: int = 64 * MiB
    pages: int = 1_000
    services: int = 50_000

    def __post_init__(self) -> None:
        for name in ("page_bytes", "feed_bytes", "pages", "services"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"setting import_max_{name} must be a whole number of 1 or more")


class FeedTooLarge(ValueError):
    """A feed or a page went over one of the limits (the message names the setting)."""


def size_text(n: int) -> str:
    """A byte count as people read it: ``16 MiB``, ``512 KiB``, ``1,000 bytes``."""
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB:,} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024:,} KiB"
    return f"{n:,} bytes"


class Budget:
    """One import's running totals against its ``Limits``."""

    def __init__(self, limits: Limits, location: str) -> None:
        self.limits = limits
        self.location = location
        self.bytes = 0
        self.pages = 0
        self.services = 0
        self.entries = 0
        self.requests = 0

    def room(self) -> int:
        """The most bytes the next page may hold."""
        return max(0, min(self.limits.page_bytes, self.limits.feed_bytes - self.bytes))

    def page(self, label: str) -> None:
        self.pages += 1
        if self.pages > self.limits.pages:
            raise FeedTooLarge(
                f"{self.location}: more than {self.limits.pages:,} pages "
                "(setting import_max_pages); nothing imported"
            )

    def take(self, n: int, label: str, *, paged: bool = True) -> None:
        """Count ``n`` more bytes of the page ``label`` (``paged=False``: a streamed file,
        which only the feed limit bounds)."""
        if paged and n > self.limits.page_bytes:
            raise FeedTooLarge(
                f"{label}: more than {size_text(self.limits.page_bytes)} in one page "
                "(setting import_max_page_bytes); nothing imported"
            )
        self.bytes += n
        if self.bytes > self.limits.feed_bytes:
            raise FeedTooLarge(
                f"{self.location}: more than {size_text(self.limits.feed_bytes)} in all "
                "(setting import_max_feed_bytes); nothing imported"
            )

    def service(self) -> None:
        self.services += 1
        if self.services > self.limits.services:
            raise FeedTooLarge(
                f"{self.location}: more than {self.limits.services:,} services "
                "(setting import_max_services); nothing imported"
            )

    def keep(self, entries: int) -> None:
        """Count a service kept with ``entries`` opening times, locations and so on."""
        self.entries += entries
        allowed = self.limits.services * ENTRIES_PER_SERVICE
        if self.entries > allowed:
            raise FeedTooLarge(
                f"{self.location}: more than {allowed:,} opening times, locations, contacts, "
                f"languages and categories in all ({ENTRIES_PER_SERVICE} for each service the "
                "setting import_max_services allows); nothing imported"
            )


# --- files ------------------------------------------------------------------------------


def open_file(path: Path, stack: ExitStack) -> IO[bytes]:
    """``path`` opened once for reading (a pipe or a device cannot be read twice), gzip undone
    as it is read; closed by ``stack``."""
    raw = stack.enter_context(open(path, "rb"))  # noqa: SIM115 (closed by the stack)
    try:
        zipped = path.suffix.lower() == ".gz" or raw.peek(2)[:2] == b"\x1f\x8b"
    except OSError:
        zipped = False  # the read itself will say what is wrong
    if zipped:
        unzipped = gzip.GzipFile(fileobj=raw, mode="rb")
        stack.callback(unzipped.close)
        return cast(IO[bytes], unzipped)
    return raw


_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def _broken_gzip(path: Path, exc: BaseException) -> ValueError:
    return ValueError(f"{path}: broken gzip file ({type(exc).__name__}: {_plain(str(exc))})")


def sniff(stream: IO[bytes], path: Path) -> str:
    """``oruk`` if the stream starts like JSON, else ``csv`` (read without consuming it)."""
    try:
        head = stream.peek(4096)  # type: ignore[attr-defined]
    except _GZIP_ERRORS as exc:
        raise _broken_gzip(path, exc) from None
    return "oruk" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") else "csv"


def read_page(stream: IO[bytes], path: Path, budget: Budget, label: str) -> bytes:
    """The bytes of a file read as one page: at most the room left in the budget, so
    ``/dev/urandom`` or a gzip bomb stops at the limit instead of filling the memory."""
    room = budget.room()
    try:
        left = _bytes_left(stream)
        if left is not None and left < room:  # (a read of the whole room allocates it)
            data = stream.read(left + 1)
            if len(data) > left:  # (the file grew: read on as far as the room)
                data += stream.read(room - left)
        else:
            data = stream.read(room + 1)
    except _GZIP_ERRORS as exc:
        raise _broken_gzip(path, exc) from None
    budget.take(len(data), label)
    return data


def _bytes_left(stream: IO[bytes]) -> int | None:
    """What is left to read of a plain regular file (None: a pipe, a device, gzip...)."""
    if not isinstance(stream, io.BufferedReader):
        return None
    try:
        info = os.fstat(stream.fileno())
        return info.st_size - stream.tell() if stat.S_ISREG(info.st_mode) else None
    except (OSError, ValueError):
        return None


class _Counted(io.RawIOBase):
    """A binary stream whose bytes are counted against the feed limit as they are read."""

    def __init__(self, inner: IO[bytes], budget: Budget, label: str) -> None:
        self.inner, self.budget, self.label = inner, budget, label

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.inner.read(min(len(view), 65536))
        self.budget.take(len(data), self.label, paged=False)
        view[: len(data)] = data
        return len(data)


_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


def read_lines(stream: IO[bytes], path: Path, budget: Budget, label: str) -> Iterator[str]:
    """A text file's lines, read as they are needed (a CSV feed is streamed, not held):
    UTF-8 (a BOM allowed; the first line that is not UTF-8 is named), line ends kept as in
    the file, each line at most ``MAX_LINE_CHARS``, every byte counted against the feed limit."""
    text = io.TextIOWrapper(
        io.BufferedReader(_Counted(stream, budget, label)),
        encoding="utf-8-sig",
        errors="surrogateescape",
        newline="",
    )
    number = 0
    while True:
        try:
            line = text.readline(MAX_LINE_CHARS)
        except _GZIP_ERRORS as exc:
            raise _broken_gzip(path, exc) from None
        if not line:
            return
        number += 1
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise ValueError(f"{label}, line {number:,}: longer than {MAX_LINE_CHARS:,} characters")
        if not line.isascii() and _UNDECODED.search(line):
            raise ValueError(f"{label}, line {number:,}: not UTF-8 text")
        yield line


# --- HTTP -------------------------------------------------------------------------------


def _plain(text: str, limit: int = 200) -> str:
    """Words from a server for an error message: no control characters, cut short."""
    cleaned, _ = strip_controls(text, multiline=False)
    return cleaned[:limit]


def http_page(
    client: httpx.Client, url: str, params: dict[str, Any], budget: Budget, label: str
) -> bytes:
    """The body of one page, streamed and cut at the budget's room; redirects followed (at
    most ``MAX_REDIRECTS``) without reading their bodies. ValueError naming ``label``."""
    import httpx

    request = client.build_request(
        "GET", url, params=params, headers={"Accept": "application/json"}
    )
    for _ in range(MAX_REDIRECTS + 1):
        budget.requests += 1
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise ValueError(
                f"{label}: cannot fetch ({type(exc).__name__}: {_plain(str(exc))})"
            ) from None
        try:
            if response.next_request is not None:
                request = response.next_request
                continue
            if response.status_code >= 400:
                raise ValueError(
                    f"{label}: HTTP {response.status_code} {_plain(response.reason_phrase)}"
                )
            return _body(response, budget, label)
        except httpx.HTTPError as exc:
            raise ValueError(
                f"{label}: cannot fetch ({type(exc).__name__}: {_plain(str(exc))})"
            ) from None
        finally:
            response.close()
    raise ValueError(f"{label}: more than {MAX_REDIRECTS} redirects")


def _body(response: httpx.Response, budget: Budget, label: str) -> bytes:
    room = budget.room()
    declared = response.headers.get("content-length", "")
    if (
        declared.isdigit()
        and len(declared) < 19
        and not response.headers.get("content-encoding")
        and int(declared) > room
    ):
        budget.take(int(declared), label)  # over a limit: says which
    deadline = time.monotonic() + PAGE_SECONDS
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > room:
            budget.take(total, label)  # raises: the page or the feed is over its limit
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise ValueError(f"{label}: no whole page within {PAGE_SECONDS:.0f} seconds")
    data = b"".join(chunks)
    budget.take(len(data), label)
    return data


# --- JSON -------------------------------------------------------------------------------

# A JSON string (possessive: linear on any input, even an unterminated string of escapes),
# and the rest of one begun in an earlier window.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.S)
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.S)
# Bytes a number is written with become "0", every other byte a space: a long number is then
# a run of zeros, found by a plain substring search.
_NUMBER_BYTES = bytes(48 if chr(b) in "-+0123456789.eE" else 32 for b in range(256))
_LONG_RUN = b"0" * (MAX_NUMBER_CHARS + 1)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
WINDOW = 256 * 1024
"""How much of a page is stripped of its strings at a time (a page of millions of short
strings stripped at once would take twenty times its size in memory)."""


def _too_deep(label: str) -> ValueError:
    return ValueError(f"{label}: JSON nested more than {MAX_DEPTH} levels deep")


def check_json(data: bytes, label: str, max_values: int, window: int = WINDOW) -> None:
    """Refuse, before parsing, a page whose JSON nests deeper than ``MAX_DEPTH``, holds more
    than ``max_values`` values or a number longer than ``MAX_NUMBER_CHARS`` characters.

    The page is read a window at a time: its strings taken out (one linear regular
    expression), what is left counted. A window is never cut just after a backslash; one
    that ends inside a string is told by the ``"X`` put after it (the quote closes that
    string and leaves the X, which valid JSON never has outside a string), and the next
    window starts after the string's end. The brackets left, in order, are then paired
    innermost first, one level per pass, at most ``MAX_DEPTH`` passes. Malformed JSON is
    left for the parser to describe: it stops at the first fault, which these counts reach."""
    values = 0
    brackets: list[bytes] = []
    run = 0  # number bytes that ended the last window (a number may be cut in two)
    pos, size = 0, len(data)
    while pos < size:
        end = min(size, pos + window)
        while end < size and data[end - 1] == 0x5C:  # never cut just after a backslash
            end += 1
        bare, inside = _without_strings(data[pos:end])
        digits = bare.translate(_NUMBER_BYTES)
        lead = len(digits) - len(digits.lstrip(b"0"))
        if run + lead > MAX_NUMBER_CHARS or _LONG_RUN in digits:
            raise ValueError(
                f"{label}: a number more than {MAX_NUMBER_CHARS} characters long; "
                "linkwork reads numbers of at most that length"
            )
        values += bare.count(b",") + bare.count(b"[") + bare.count(b"{")
        if values > max_values:
            raise FeedTooLarge(
                f"{label}: more than {max_values:,} JSON values in one page (one per "
                f"{BYTES_PER_VALUE} bytes of the setting import_max_page_bytes); nothing imported"
            )
        brackets.append(bare.translate(None, _NOT_BRACKET))
        pos = end
        if inside:
            rest = _STRING_REST.match(data, pos)
            pos = rest.end() if rest else size
            run = 0
        elif lead == len(digits):
            run += lead
        else:
            run = len(digits) - len(digits.rstrip(b"0"))
    _check_depth(b"".join(brackets), label)


def _without_strings(window: bytes) -> tuple[bytes, bool]:
    """The window without its strings, and whether it ends inside one: what taking out
    every ``_STRING`` match leaves, worked out from the quotes instead.

    The window is split at its quotes (parts: outside, inside, outside, ... while every
    quote opens or closes a string). A quote does neither only inside a string, after an
    odd run of backslashes (``\\"``; ``\\\\"`` is an escaped backslash, then a quote that
    closes): those few quotes are found with ``find``, and each shifts which parts after
    it are outside. Ten times faster than the regular expression, which still takes a
    window ending in a backslash (cut in an escape: only at the end of the page) or with
    more than 64 quotes after a backslash (a Python step each)."""
    if window.endswith(b"\\") or window.count(b'\\"') > 64:
        bare = _STRING.sub(b"", window + b'"X')
        inside = bare.endswith(b"X")
        return (bare[:-1] if inside else bare), inside
    parts = window.split(b'"')
    quotes = len(parts) - 1
    # quotes after a backslash, by number (the count of quotes before each)
    shifts: list[int] = []  # quotes that neither open nor close, in order
    at, j, counted = window.find(b'\\"'), 0, 0
    while at >= 0:
        j += window.count(b'"', counted, at + 1)  # this quote's number
        counted = at + 1
        run = len(parts[j]) - len(parts[j].rstrip(b"\\"))
        # inside a string here if an odd number of the quotes before it open or close one
        if run % 2 and (j - len(shifts)) % 2:
            shifts.append(j)
        at = window.find(b'\\"', at + 2)
    if not shifts:
        return b"".join(parts[0::2]), quotes % 2 == 1
    kept: list[bytes] = []
    low = 0
    for k, j in enumerate([*shifts, quotes]):
        # parts low..j (part j ends at quote j); outside: (i - k) even
        first = low + (low - k) % 2
        kept.extend(parts[first : j + 1 : 2])
        low = j + 1
    return b"".join(kept), (quotes - len(shifts)) % 2 == 1


# What ``check_json_before_parser`` keeps of a page: quotes, the bytes a value is counted
# by, brackets, and the mark ``_ESCAPED`` an escape (a backslash and the byte after it)
# becomes (a lone backslash left over too).
_ESCAPED = b"\x01"
_ESCAPE = re.compile(rb"\\.", re.S)
_NOT_KEPT = bytes(b for b in range(256) if b not in b'"\x01\\,[]{}')
_BACKSLASH_MARKED = bytes(range(256)).replace(b"\\", _ESCAPED)
_TENTH_RUN = b"0" * (MAX_NUMBER_CHARS // 10)
QUICK_STRINGS = 32
"""``check_json_before_parser`` reads whole a page with at most one string holding a comma,
a bracket or an escape per this many bytes (else a window at a time, as ``check_json``)."""


def check_json_before_parser(data: bytes, label: str, max_values: int) -> None:
    """``check_json`` for a page a strict JSON parser (msgspec) reads next, in a few passes
    over the whole page instead of a window at a time: the same values counted, the same
    brackets paired, the same refusals with the same messages (by ``check_json`` itself),
    except one kind the parser refuses anyway: a page that is not JSON, where a number
    touches a string (``1"a"2``, which ``check_json`` reads as the number ``12``), may pass
    here. So a page the parser refuses must be read again by ``load_json``, which checks it
    with ``check_json`` (``directory.sources._cut_page``).

    Every byte but quotes, backslashes, commas and brackets is dropped; each escape
    (``\\"``, ``\\\\``, ``\\n``...) becomes one mark first, so every quote left opens or
    closes a string. Two quotes side by side then hold nothing of note between them
    (an empty string, or the end of one and the start of the next) and go, so only strings
    holding a comma, a bracket or an escape are left to split the page at. What lies
    between them is outside strings: counted and paired as ``check_json`` does. A mark
    outside a string (a backslash where JSON has none), a page ending inside a string, too
    many strings left, any run of 101 number bytes (even in a string), too many values or
    too deep: ``check_json`` reads the page and says what is wrong, if anything."""
    # A run of 101 number bytes holds 10 bytes in a row of every tenth byte: without such
    # 10 the page has no run so long (looked for in the whole page only if it has)
    if _TENTH_RUN in data[::10].translate(_NUMBER_BYTES) and _LONG_RUN in data.translate(
        _NUMBER_BYTES
    ):
        check_json(data, label, max_values)
        return
    if b"\\" in data:
        kept = _ESCAPE.sub(_ESCAPED, data).translate(_BACKSLASH_MARKED, _NOT_KEPT)
    else:
        kept = data.translate(None, _NOT_KEPT)
    kept = kept.replace(b'""', b"")
    strings = kept.count(b'"')
    if strings % 2 or strings > 2 * (len(data) // QUICK_STRINGS + 1):
        check_json(data, label, max_values)
        return
    outside = b"".join(kept.split(b'"')[0::2])
    del kept
    values = outside.count(b",") + outside.count(b"[") + outside.count(b"{")
    if _ESCAPED in outside or values > max_values or _too_deep_here(outside.translate(None, b",")):
        check_json(data, label, max_values)


def _too_deep_here(brackets: bytes) -> bool:
    """Whether ``_check_depth`` refuses these brackets."""
    try:
        _check_depth(brackets, "")
    except ValueError:
        return True
    return False


def _innermost_out(brackets: bytes) -> bytes:
    """The brackets without their innermost pairs: one level of nesting, never two (the
    pairs are marked first, so taking out ``[]`` cannot make a ``{}`` that goes too)."""
    marked = brackets.replace(b"[]", b"\0\0").replace(b"{}", b"\0\0")
    return marked.translate(None, b"\0")


def _check_depth(brackets: bytes, label: str) -> None:
    for _ in range(MAX_DEPTH):
        if not brackets:
            return
        shorter = _innermost_out(brackets)
        if len(shorter) == len(brackets):
            return  # unbalanced: the parser says where
        brackets = shorter
    if brackets and len(_innermost_out(brackets)) < len(brackets):
        raise _too_deep(label)


def load_json(data: bytes, label: str, limits: Limits) -> Any:
    """The JSON document in ``data``; ValueError naming ``label`` if it is unusable."""
    check_json(data, label, max(1, limits.page_bytes // BYTES_PER_VALUE))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{label}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except RecursionError:  # only malformed JSON gets past check_json this deep
        raise _too_deep(label) from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.strip()) - 1 or "Unterminated" in exc.msg or "Expecting" in exc.msg:
            what = "truncated or malformed JSON"
        else:
            what = "not JSON"
        if not text.lstrip().startswith(("{", "[")):
            what = "not JSON"
        raise ValueError(f"{label}: {what} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # e.g. Python's own limit on digits in an int
        raise ValueError(f"{label}: unreadable JSON ({_plain(str(exc))})") from None
