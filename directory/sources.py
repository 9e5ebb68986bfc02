"""Where a feed comes from: a file, a folder of page files, or an ORUK API base URL.

A feed is read as it is imported: page by page (a CSV file row by row), each service
turned into a record before the next page is read, so the memory an import takes does not
grow with what arrives. Every read is bounded (``directory.bounded``: bytes per page and per
feed, pages, services, JSON depth), a server that keeps sending the same page is stopped,
and nothing is written until the whole feed has been read, so a feed that fails half-way
changes nothing.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Callable, Container, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from stat import S_ISREG
from typing import Any

import msgspec

from directory.bounded import (
    BYTES_PER_VALUE,
    Budget,
    FeedTooLarge,
    Limits,
    check_json_before_parser,
    http_page,
    load_json,
    open_file,
    read_lines,
    read_page,
    sniff,
)
from directory.csvfeed import read_csv
from directory.feeds import page_from_document
from directory.records import Page
from directory.untrusted import strip_controls

Progress = Callable[[int, int | None], None]
"""Called as ``progress(pages_done, total_pages_or_None)`` while fetching."""

FORMATS = ("auto", "oruk", "csv")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_FEED_FILE = re.compile(r"\.(json|csv)(\.gz)?$", re.I)


@dataclass
class Entry:
    where: str
    kind: str  # "oruk" or "csv"
    raw: Any
    # the digest of the service's bytes as sent, the code reading them and the feed's salt
    # ("" when not known): a digest in the feed's ``known`` has a ``Light`` in ``raw``
    # (``whole`` reads the service whole)
    digest: str = ""
    data: bytes = b""
    light: bool = False
    # ``raw`` not parsed yet (``whole`` parses it): the reader may read ``data`` itself
    # (``directory.oruk_structs``)
    unparsed: bool = False

    def whole(self) -> Any:
        """The service as parsed JSON, all of it."""
        if self.light or self.unparsed:
            self.raw, self.light, self.unparsed = parse_service(self.data), False, False
        return self.raw


def parse_service(data: bytes) -> Any:
    """A service's JSON bytes cut from a page (``_cut_page``) as ``json.loads`` reads them,
    parsed in C (msgspec: the same values, as the page already parsed with it); the json
    module if msgspec cannot (it never should: the whole page was read with it)."""
    try:
        return _ANY.decode(data)
    except msgspec.DecodeError:
        return json.loads(data.decode("utf-8"))


@dataclass
class Feed:
    """A feed being read: ``entries`` come one at a time as pages arrive; ``full`` (the
    whole feed, so services missing from it may be withdrawn) is known once they are all
    read, and so is ``format`` when it is told from the file's first bytes."""

    source: str  # the name services are filed under
    location: str  # the path or URL read
    format: str
    entries: Iterator[Entry]
    budget: Budget
    full: bool = False
    # set by the importer before the entries are taken: digests of services as last
    # imported (read lightly), and what besides the bytes and the code a digest covers
    known: Container[str] = frozenset()
    salt: bytes = b""
    # what its local files hold (0: not files, or of unknown size: a pipe, a device, a
    # server): a feed large enough is read in a second process (``directory.read_worker``)
    local_bytes: int = 0


def default_source_name(location: str) -> str:
    """The feed name for a path or URL: a URL without ``/services``; a file's name
    without ``.json``, ``.oruk``, ``.csv`` and ``.gz`` (so the sample's JSON and CSV agree).
    Control characters in a file's name are not kept in the feed's."""
    return _plain(_source_name(location))


def _source_name(location: str) -> str:
    if location.startswith(("http://", "https://")):
        return re.sub(r"/services/?$", "", location.rstrip("/"))
    name = Path(location).name
    while True:
        stem, dot, ext = name.rpartition(".")
        if dot and ext.lower() in ("json", "csv", "gz", "oruk"):
            name = stem
        else:
            return name or location


def _is_full(pages: list[Page]) -> bool:
    if any(p.single for p in pages):
        return False
    totals = {p.total_pages for p in pages if p.total_pages}
    if not totals:
        return True
    numbers = {p.page_number for p in pages if p.page_number is not None}
    return all(set(range(1, t + 1)) <= numbers or (t == 1 and len(pages) == 1) for t in totals)


def _page_entries(page: Page, prefix: str) -> Iterator[Entry]:
    """The page's services one at a time, each let go once it has been handed on."""
    items, page.items = page.items, []
    for i in range(len(items)):
        item, items[i] = items[i], None
        yield Entry(f"{prefix}record {i + 1}", "oruk", item)


def _cut_entries(feed: Feed, cut: list[bytes], prefix: str) -> Iterator[Entry]:
    """A cut page's services one at a time, each with its bytes (parsed only as far as
    ``Light`` when its digest is known, else when the reader asks: ``Entry.whole``), let
    go once handed on."""
    start = reader_fingerprint() + feed.salt
    for i in range(len(cut)):
        data, cut[i] = cut[i], b""
        digest = hashlib.sha256(start + data).hexdigest()
        entry = Entry(f"{prefix}record {i + 1}", "oruk", None, digest, data)
        if digest in feed.known:
            with suppress(msgspec.DecodeError):  # (cannot be: it was read whole before)
                entry.raw, entry.light = _LIGHT.decode(data), True
        if not entry.light:
            entry.unparsed = True  # parsed when the reader needs it (``whole``)
        yield entry


# What a service is read with: a change to any of these reads every service again.
_READERS = (
    "sources.py",
    "feeds.py",
    "oruk_structs.py",
    "fields.py",
    "text.py",
    "untrusted.py",
    "records.py",
    "importer.py",
    "taxonomy.py",
    "taxonomy_map.csv",
)


@cache
def reader_fingerprint() -> bytes:
    """The digest of the code (and the category map) a service is read with."""
    digest = hashlib.sha256()
    folder = resources.files("directory")
    for name in _READERS:
        digest.update(name.encode() + b"\0" + folder.joinpath(name).read_bytes() + b"\0")
    return digest.digest()


_ANY = msgspec.json.Decoder()
_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])

_NULL = msgspec.Raw(b"null")


class _Wrapper(msgspec.Struct):
    """A page's wrapper as ``page_from_document`` reads it: ORUK v1's ``content`` cut into
    its services as it is parsed (a repeated key: the last, as a dict keeps it; null or
    not a list: refused, as before), 3.0's ``contents`` left as its text (``b""``: not
    there), and the paging values as their JSON text (absent reads as null, as
    ``dict.get`` gives None); the rest skipped."""

    content: list[msgspec.Raw] | msgspec.UnsetType = msgspec.UNSET
    contents: msgspec.Raw = msgspec.Raw(b"")
    number: msgspec.Raw = _NULL
    totalPages: msgspec.Raw = _NULL
    last: msgspec.Raw = _NULL
    page_number: msgspec.Raw = _NULL
    total_pages: msgspec.Raw = _NULL
    last_page: msgspec.Raw = _NULL


_PAGING = ("number", "totalPages", "last", "page_number", "total_pages", "last_page")
_TOP = msgspec.json.Decoder(list[msgspec.Raw] | _Wrapper)
_DICT = msgspec.json.Decoder(dict[str, msgspec.Raw])


class Light(msgspec.Struct):
    """What is read again of a service whose bytes are as at the last import: its
    organisation and locations (``directory.feeds.KnownPlaces``), each left as its JSON
    text (null when absent, as ``dict.get`` reads it); the rest is skipped unparsed."""

    organization: msgspec.Raw = _NULL
    organization_id: msgspec.Raw = _NULL
    service_at_locations: msgspec.Raw = _NULL


_LIGHT = msgspec.json.Decoder(Light)


def _cut_page(data: bytes, label: str, limits: Limits) -> tuple[Page, list[bytes]] | None:
    """A page of services (a v1 or 3.0 wrapper, or a list) cut into each service's bytes,
    the wrapper read (the page's ``items`` left empty); None when the page is anything
    else (one service, not JSON...): ``load_json`` then reads it whole and says what is
    wrong. msgspec checks the whole page is JSON (strict JSON: what it accepts,
    ``json.loads`` reads to the same values), so each service's bytes parse alone as they
    would in the page."""
    # (a page msgspec refuses goes to load_json, whose check_json may refuse it first)
    check_json_before_parser(data, label, max(1, limits.page_bytes // BYTES_PER_VALUE))
    try:
        if not data.isascii():
            data.decode("utf-8-sig")  # the whole page is UTF-8, as load_json wants it
        body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
        try:
            top: list[msgspec.Raw] | _Wrapper | dict[str, msgspec.Raw] = _TOP.decode(body)
        except msgspec.ValidationError:  # (a value not of its type: read as before)
            top = _DICT.decode(body)
        doc: dict[str, Any] | None = None
        if isinstance(top, list):
            raws = top
        elif isinstance(top, dict):
            key = "content" if "content" in top else "contents" if "contents" in top else ""
            if not key:
                return None
            raws = _ITEMS.decode(top.pop(key))
            doc = {k: json.loads(bytes(v).decode("utf-8")) for k, v in top.items()}
            doc[key] = []
        else:
            if not isinstance(top.content, msgspec.UnsetType):
                key, raws = "content", top.content
            elif top.contents:
                key, raws = "contents", _ITEMS.decode(top.contents)
            else:
                return None
            doc = {k: json.loads(bytes(getattr(top, k)).decode("utf-8")) for k in _PAGING}
            doc[key] = []
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    page = page_from_document([] if doc is None else doc, label)
    return page, [bytes(r) for r in raws]


def _page_of(data: bytes, label: str, limits: Limits) -> tuple[Page, list[bytes] | None]:
    """A JSON page: cut into its services' bytes when it can be, else read whole."""
    cut = _cut_page(data, label, limits)
    if cut is not None:
        return cut
    return page_from_document(load_json(data, label, limits), label), None


def _kind_by_name(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if ".csv" in suffixes:
        return "csv"
    if ".json" in suffixes:
        return "oruk"
    return ""  # told from the first bytes


def _file_entries(
    feed: Feed, path: Path, fmt: str, prefix: str, pages: list[Page]
) -> Iterator[Entry]:
    """The services of one file (one page): a JSON page read whole within the page limit,
    a CSV file streamed row by row within the feed limit."""
    label = str(path)
    feed.budget.page(label)
    with ExitStack() as stack:
        stream = open_file(path, stack)
        kind = _kind_by_name(path, fmt) or sniff(stream, path)
        feed.format = feed.format or kind
        if kind == "csv":
            lines = read_lines(stream, path, feed.budget, label)
            for where, row in read_csv(lines, label):
                yield Entry(f"{prefix}{where}", "csv", row)
            pages.append(Page(label, []))
            return
        data = read_page(stream, path, feed.budget, label)
    page, cut = _page_of(data, label, feed.budget.limits)
    del data
    pages.append(Page(label, [], page.page_number, page.total_pages, page.single))
    if cut is None:
        yield from _page_entries(page, prefix)
    else:
        yield from _cut_entries(feed, cut, prefix)


def _folder_files(path: Path, limits: Limits) -> list[Path]:
    files = []
    for p in path.iterdir():
        if _FEED_FILE.search(p.name) and p.is_file():
            files.append(p)
            if len(files) > limits.pages:
                raise FeedTooLarge(
                    f"{path}: more than {limits.pages:,} files (setting import_max_pages); "
                    "nothing imported"
                )
    if not files:
        raise ValueError(f"{path}: no .json or .csv files in the folder")
    return sorted(
        files, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]
    )


def _folder_entries(feed: Feed, files: list[Path], fmt: str) -> Iterator[Entry]:
    pages: list[Page] = []
    for file in files:
        yield from _file_entries(feed, file, fmt, f"{file.name} ", pages)
    feed.full = _is_full(pages)


def _single_file_entries(feed: Feed, path: Path, fmt: str) -> Iterator[Entry]:
    pages: list[Page] = []
    yield from _file_entries(feed, path, fmt, "", pages)
    feed.full = _is_full(pages)


def read_path(path: Path, fmt: str = "auto", limits: Limits | None = None) -> Feed:
    """A feed from a file (JSON or CSV, gzip or not; a pipe or a device too) or a folder
    of page files, read as its entries are taken."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (use auto, oruk or csv)")
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    limits = limits or Limits()
    budget = Budget(limits, str(path))
    if path.is_dir():
        files = _folder_files(path, limits)
        kinds = {_kind_by_name(f, fmt) or "oruk" for f in files}
        feed = Feed(
            default_source_name(str(path.resolve())),
            str(path),
            "+".join(sorted(kinds)),
            iter(()),
            budget,
        )
        feed.entries = _folder_entries(feed, files, fmt)
        feed.local_bytes = sum(_file_size(f) for f in files)
        return feed
    feed = Feed(
        default_source_name(str(path)), str(path), _kind_by_name(path, fmt), iter(()), budget
    )
    feed.entries = _single_file_entries(feed, path, fmt)
    feed.local_bytes = _file_size(path)
    return feed


def _file_size(path: Path) -> int:
    """A regular file's size (0 for a pipe, a device or what cannot be told)."""
    try:
        stat = path.stat()
    except OSError:
        return 0
    return stat.st_size if S_ISREG(stat.st_mode) else 0


# --- http(s) ----------------------------------------------------------------------------


def _page_ids(items: list[Any]) -> set[str]:
    ids = set()
    for item in items:
        if isinstance(item, dict):
            sid = item.get("id")
            if isinstance(sid, str | int) and not isinstance(sid, bool):
                ids.add(str(sid)[:255])
    return ids


def _url_entries(
    feed: Feed, url: str, single: bool, progress: Progress | None, per_page: int, timeout: float
) -> Iterator[Entry]:
    import httpx

    budget, limits = feed.budget, feed.budget.limits
    seen_pages: dict[bytes, int] = {}
    seen_ids: set[str] = set()
    many: bool | None = None
    complete = True
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        number = 1
        while True:
            params = {} if single else {"page": number, "per_page": per_page}
            label = url if single else f"{url}?page={number}"
            budget.page(label)
            data = http_page(client, url, params, budget, label)
            digest = hashlib.sha256(data).digest()
            if digest in seen_pages:
                raise ValueError(
                    f"{label}: the same page as page {seen_pages[digest]} again (the server "
                    "does not move on to the next page); nothing imported"
                )
            seen_pages[digest] = number
            page, cut = _page_of(data, label, limits)
            del data
            if cut is not None:  # the ids are needed before the services are taken
                page.items = [json.loads(b.decode("utf-8")) for b in cut]
            ids = _page_ids(page.items)
            if ids and ids <= seen_ids:
                raise ValueError(
                    f"{label}: only services already read on earlier pages (the server does "
                    "not move on to the next page); nothing imported"
                )
            seen_ids |= ids
            total = page.total_pages
            if total is not None and total > limits.pages:
                raise FeedTooLarge(
                    f"{label}: the server says there are {total:,} pages; an import reads at "
                    f"most {limits.pages:,} (setting import_max_pages); nothing imported"
                )
            if progress:
                progress(number, total)
            if many is None:
                many = not single and (total not in (None, 0, 1) or page.last is False)
            empty = not page.items
            if page.single:
                complete = False
            yield from _page_entries(page, f"page {number} " if many else "")
            if single or page.single or empty:
                if empty and total is not None and number < total:
                    complete = False  # an empty page before the last: never "all services"
                break
            if total is not None:
                if number >= total:
                    break
            elif page.last is not False:
                break
            number += 1
    feed.full = complete and not single


def fetch_url(
    base: str,
    progress: Progress | None = None,
    limits: Limits | None = None,
    per_page: int = 100,
    timeout: float = 30.0,
) -> Feed:
    """Every page of ``/services`` from an ORUK API (v1 or 3.0 paging), or one document if
    the URL is a ``/services/{id}`` address, fetched as its entries are taken. ValueError
    naming the page on any failure."""
    url = base.rstrip("/")
    single = bool(re.search(r"/services/[^/?]+$", url))
    if not single and not url.endswith("/services"):
        url += "/services"
    budget = Budget(limits or Limits(), base)
    feed = Feed(default_source_name(base), base, "oruk", iter(()), budget)
    feed.entries = _guard_url(_url_entries(feed, url, single, progress, per_page, timeout), base)
    return feed


def _guard_url(entries: Iterator[Entry], base: str) -> Iterator[Entry]:
    import httpx

    try:
        yield from entries
    except httpx.InvalidURL as exc:
        raise ValueError(f"bad URL {_plain(base)}: {_plain(str(exc))}") from None


def _plain(text: str) -> str:
    return strip_controls(text, multiline=False)[0][:300]


def read_source(
    source: str | Path,
    fmt: str = "auto",
    progress: Progress | None = None,
    limits: Limits | None = None,
) -> Feed:
    """A feed from a path or an http(s) URL, read as its entries are taken (nothing written
    anywhere). Any other kind of address (``ftp://``, ``file://``) is refused as such."""
    text = str(source)
    scheme = _SCHEME.match(text)
    if scheme:
        name = scheme.group(1).lower()
        if name not in ("http", "https"):
            raise ValueError(
                f"{_plain(text)}: linkwork reads only http:// and https:// addresses, files "
                f"and folders (not {_plain(name)}://)"
            )
        if fmt == "csv":
            raise ValueError("--format csv needs a file, not a URL")
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r} (use auto, oruk or csv)")
        return fetch_url(text, progress, limits)
    return read_path(Path(text), fmt, limits)


def document_feed(doc: Any, source: str, label: str = "document") -> Feed:
    """A feed from an already-parsed JSON document (used for the bundled sample)."""
    page = page_from_document(doc, label)
    full = _is_full([page])
    feed = Feed(source, label, "oruk", _page_entries(page, ""), Budget(Limits(), label), full)
    return feed
