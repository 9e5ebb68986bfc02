"""Where a feed comes from: a file, a folder of page files, or an ORUK API base URL.

Everything is read (and every page fetched) before the database is touched, so a
feed that fails half-way changes nothing.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directory.feeds import Page, page_from_document, parse_json_page, read_csv

Progress = Callable[[int, int | None], None]
"""Called as ``progress(pages_done, total_pages_or_None)`` while fetching."""

FORMATS = ("auto", "oruk", "csv")


@dataclass
class Entry:
    where: str
    kind: str  # "oruk" or "csv"
    raw: Any


@dataclass
class Feed:
    source: str  # the name services are filed under
    location: str  # the path or URL read
    format: str
    full: bool  # the whole feed (services missing from it may be withdrawn)
    entries: list[Entry] = field(default_factory=list)


def default_source_name(location: str) -> str:
    """The feed name for a path or URL: a URL without ``/services``; a file's name
    without ``.json``, ``.oruk``, ``.csv`` and ``.gz`` (so the sample's JSON and CSV agree)."""
    if location.startswith(("http://", "https://")):
        return re.sub(r"/services/?$", "", location.rstrip("/"))
    name = Path(location).name
    while True:
        stem, dot, ext = name.rpartition(".")
        if dot and ext.lower() in ("json", "csv", "gz", "oruk"):
            name = stem
        else:
            return name or location


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix.lower() == ".gz" or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: broken gzip file ({exc})") from None
    return data


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{label}: not UTF-8 text") from None


def _format_of(path: Path, text: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if ".csv" in suffixes:
        return "csv"
    if ".json" in suffixes:
        return "oruk"
    return "oruk" if text.lstrip()[:1] in ("{", "[") else "csv"


def _file_pages(path: Path, fmt: str) -> tuple[str, list[Page]]:
    label = str(path)
    text = _decode(_read_bytes(path), label)
    kind = _format_of(path, text, fmt)
    if kind == "csv":
        rows = list(read_csv(text, label))
        return kind, [Page(label, [(where, row) for where, row in rows])]
    return kind, [parse_json_page(text, label)]


def _is_full(pages: list[Page]) -> bool:
    if any(p.single for p in pages):
        return False
    totals = {p.total_pages for p in pages if p.total_pages}
    if not totals:
        return True
    numbers = {p.page_number for p in pages if p.page_number is not None}
    return all(set(range(1, t + 1)) <= numbers or (t == 1 and len(pages) == 1) for t in totals)


def _entries(kind: str, pages: list[Page], many: bool) -> list[Entry]:
    entries: list[Entry] = []
    for page in pages:
        prefix = f"{page.label} " if many else ""
        if kind == "csv":
            for where, row in page.items:
                entries.append(Entry(f"{prefix}{where}", "csv", row))
        else:
            for i, item in enumerate(page.items, start=1):
                entries.append(Entry(f"{prefix}record {i}", "oruk", item))
    return entries


def read_path(path: Path, fmt: str = "auto") -> Feed:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (use auto, oruk or csv)")
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(
            (
                p
                for p in path.iterdir()
                if p.is_file() and re.search(r"\.(json|csv)(\.gz)?$", p.name, re.I)
            ),
            key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)],
        )
        if not files:
            raise ValueError(f"{path}: no .json or .csv files in the folder")
        pages: list[Page] = []
        kinds = set()
        entries: list[Entry] = []
        for file in files:
            kind, file_pages = _file_pages(file, fmt)
            kinds.add(kind)
            pages.extend(file_pages)
            for page in file_pages:
                page.label = file.name
            entries.extend(_entries(kind, file_pages, many=True))
        return Feed(
            default_source_name(str(path.resolve())),
            str(path),
            "+".join(sorted(kinds)),
            _is_full(pages),
            entries,
        )
    kind, pages = _file_pages(path, fmt)
    return Feed(
        default_source_name(str(path)),
        str(path),
        kind,
        _is_full(pages),
        _entries(kind, pages, False),
    )


def fetch_url(
    base: str,
    progress: Progress | None = None,
    per_page: int = 100,
    timeout: float = 30.0,
    max_pages: int = 100_000,
) -> Feed:
    """Every page of ``/services`` from an ORUK API (v1 or 3.0 paging), or one document if
    the URL is a ``/services/{id}`` address. ValueError naming the page on any failure."""
    import httpx

    url = base.rstrip("/")
    single = bool(re.search(r"/services/[^/?]+$", url))
    if not single and not url.endswith("/services"):
        url += "/services"
    pages: list[Page] = []
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            number = 1
            while True:
                params = {} if single else {"page": number, "per_page": per_page}
                label = url if single else f"{url}?page={number}"
                try:
                    response = client.get(
                        url, params=params, headers={"Accept": "application/json"}
                    )
                except httpx.HTTPError as exc:
                    raise ValueError(
                        f"{label}: cannot fetch ({type(exc).__name__}: {exc})"
                    ) from None
                if response.status_code >= 400:
                    raise ValueError(
                        f"{label}: HTTP {response.status_code} {response.reason_phrase}"
                    )
                page = parse_json_page(response.content, label)
                pages.append(page)
                total = page.total_pages
                if progress:
                    progress(number, total)
                if single or page.single or total is None or number >= total or not page.items:
                    break
                number += 1
                if number > max_pages:
                    raise ValueError(f"{url}: more than {max_pages} pages; stopped")
    except httpx.InvalidURL as exc:
        raise ValueError(f"bad URL {base!r}: {exc}") from None
    full = not single and not any(p.single for p in pages)
    entries: list[Entry] = []
    for i, page in enumerate(pages, start=1):
        for j, item in enumerate(page.items, start=1):
            entries.append(
                Entry(f"page {i} record {j}" if len(pages) > 1 else f"record {j}", "oruk", item)
            )
    return Feed(default_source_name(base), base, "oruk", full, entries)


def read_source(source: str | Path, fmt: str = "auto", progress: Progress | None = None) -> Feed:
    """Read a whole feed from a path or an http(s) URL (nothing written anywhere)."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        if fmt == "csv":
            raise ValueError("--format csv needs a file, not a URL")
        return fetch_url(text, progress)
    return read_path(Path(text), fmt)


def document_feed(doc: Any, source: str, label: str = "document") -> Feed:
    """A feed from an already-parsed JSON document (used for the bundled sample)."""
    page = page_from_document(doc, label)
    return Feed(source, label, "oruk", _is_full([page]), _entries("oruk", [page], False))
