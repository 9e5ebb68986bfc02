"""The search index on disk: one file, memory-mapped, opened in milliseconds.

``save_index`` writes a built index (``directory.search.ServiceIndex``) to one file:
a JSON header, then flat arrays (postings as one int32 array of services and one float32
array of weights, cut by token; sorted string tables for tokens, spelling words and
places; the filter arrays; each service's display record as a JSON line). ``open_index``
maps the file read-only and answers the same searches as the index it was saved from,
reading only the postings a query names and decoding only the services it shows: what
ranking needs stays on disk until it is touched, and the operating system shares and
drops the pages as it likes.

The file is written atomically (a temporary file in the same folder, fsync, rename), so a
reader never sees half of one. ``stamp`` says which state of the directory it was built
from; the caller compares it with the database's (``directory_stamp``) before trusting it.
"""

from __future__ import annotations

import itertools
import json
import mmap
import os
import shutil
import tempfile
from array import array as numbers
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from directory.index import BATCH, IndexBuilder, IndexDoc, stream_docs
from directory.search import ServiceIndex
from directory.vocabulary import load_vocabulary

if TYPE_CHECKING:
    from sqlmodel import Session

MAGIC = b"LWIDX\x00\x01\n"
VERSION = 1
ALIGN = 64


# What changes whenever the directory does: the last import (services are written only by
# an import, directory.importer, which records its run in the same transaction; a service
# is never deleted, only withdrawn by one) and the highest service number (a service added
# any other way). Two primary-key maxima: microseconds at any size (a count or the latest
# change would read every service: 0.15 s at 100k). Read as the driver hands it back, so
# the same database gives the same stamp through SQLAlchemy and through sqlite3.
STAMP_SQL = "SELECT max(id), (SELECT max(id) FROM directory_import) FROM service"


def _stamp(row: Sequence[Any]) -> str:
    top, run = row
    return f"v{VERSION}:{top}:{run}"


def directory_stamp(session: Session) -> str:
    """The directory's stamp (``STAMP_SQL``), read in ``session``."""
    return _stamp(tuple(session.connection().exec_driver_sql(STAMP_SQL).one()))


def stamp_after_one_import(session: Session, was: str) -> str | None:
    """The directory's stamp now, if the only change since the stamp ``was`` is one more
    import run (one that changed no service: none added, so the highest service number is
    the same); None if anything else happened in between (another import committed
    meanwhile, on another machine sharing the database)."""
    import sqlalchemy as sa

    now = directory_stamp(session)
    _, top, run = was.split(":")
    if now.split(":")[1] != top:
        return None
    newer = session.connection().execute(
        sa.text("SELECT count(*) FROM directory_import WHERE id > :run"),
        {"run": int(run) if run.isdigit() else 0},
    )
    return now if newer.scalar_one() == 1 else None


def only_run_since(session: Session, was: str) -> str | None:
    """The directory's stamp now, if exactly one import run was recorded since the stamp
    ``was`` (the caller's own); None if anything else happened in between."""
    import sqlalchemy as sa

    now = directory_stamp(session)
    run = was.split(":")[2]
    newer = session.connection().execute(
        sa.text("SELECT count(*) FROM directory_import WHERE id > :run"),
        {"run": int(run) if run.isdigit() else 0},
    )
    return now if newer.scalar_one() == 1 else None


def sqlite_stamp(path: Path, busy_ms: int = 10_000, passphrase: str | None = None) -> str | None:
    """The stamp of the SQLite database at ``path``, read with the DB-API driver alone
    (sqlite3; sqlcipher3 with ``passphrase`` for an encrypted one, keyed as SQLAlchemy's
    pysqlcipher dialect keys it): no SQLAlchemy, no migrations, so a search that only
    opens the index file starts in a fraction of the time. None when it cannot be read so
    (the caller then asks the database layer, which says what is wrong)."""
    if not path.is_file():
        return None
    if passphrase is None:
        import sqlite3 as driver
    else:
        import sqlcipher3 as driver  # type: ignore[import-not-found,no-redef,unused-ignore]
    try:
        conn = driver.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_ms / 1000
        )
    except driver.Error:
        return None
    try:
        if passphrase is not None:
            conn.execute("PRAGMA cipher_log_level = NONE")  # a wrong key: no stderr line
            conn.execute('pragma key="{}"'.format(passphrase.replace('"', '""')))
        return _stamp(conn.execute(STAMP_SQL).fetchone())
    except driver.Error:
        return None
    finally:
        conn.close()


# --- tables of strings --------------------------------------------------------------------


def _pack(strings: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 blob and their offsets, built in one buffer (no list of
    encoded copies: the services' records of a large directory are a hundred megabytes);
    a list of ASCII strings joined at once (a character, a byte)."""
    if isinstance(strings, list):
        joined = "".join(strings)
        if joined.isascii():
            offsets = np.zeros(len(strings) + 1, dtype=np.int64)
            np.cumsum(np.fromiter(map(len, strings), np.int64, len(strings)), out=offsets[1:])
            return np.frombuffer(joined.encode("ascii"), dtype=np.uint8), offsets
    blob = bytearray()
    ends = [0]
    for text in strings:
        blob += text.encode("utf-8")
        ends.append(len(blob))
    return np.frombuffer(blob, dtype=np.uint8), np.asarray(ends, dtype=np.int64)


class StrTable(Sequence[str]):
    """Strings in one UTF-8 blob with offsets; ``find`` and ``prefixed`` need them sorted
    (UTF-8 byte order is code point order, so bytes compare as the strings do)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self._blob = blob
        self._offsets = offsets
        self._size = int(offsets.size - 1)
        # read through memoryviews: a slice and an offset each cost a few C steps, where
        # numpy's scalars cost a microsecond each (a search reads many names key by key)
        self._view = blob.data
        self._ends = offsets.data

    def __len__(self) -> int:
        return self._size

    def _bytes(self, i: int) -> bytes:
        ends = self._ends
        return self._view[ends[i] : ends[i + 1]].tobytes()

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._bytes(j).decode("utf-8") for j in range(*i.indices(self._size))]
        if i < 0:
            i += self._size
        if not 0 <= i < self._size:
            raise IndexError(i)
        return self._bytes(i).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        for i in range(self._size):
            yield self._bytes(i).decode("utf-8")

    def _lower(self, key: bytes) -> int:
        lo, hi = 0, self._size
        while lo < hi:
            mid = (lo + hi) // 2
            if self._bytes(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def find(self, key: str) -> int:
        """The position of ``key``, or -1."""
        raw = key.encode("utf-8")
        i = self._lower(raw)
        return i if i < self._size and self._bytes(i) == raw else -1

    def prefixed(self, prefix: str) -> range:
        """Positions of the strings starting with ``prefix``."""
        raw = prefix.encode("utf-8")
        return range(self._lower(raw), self._lower(raw + b"\xff"))


class _Postings:
    """token -> (services, weights), read from the mapped arrays (a dict's interface)."""

    def __init__(self, tokens: StrTable, starts: np.ndarray, docs: np.ndarray, w: np.ndarray):
        self.tokens = tokens
        self._starts = starts
        self._bounds = starts.data  # (Python ints: no numpy scalar per lookup)
        self._docs = docs
        self._w = w
        self._cache: dict[str, int] = {}

    def position(self, token: str) -> int:
        found = self._cache.get(token)
        if found is None:
            found = self._cache[token] = self.tokens.find(token)
            if len(self._cache) > 100_000:
                self._cache.clear()
        return found

    def get(self, token: str, default: Any = None) -> Any:
        i = self.position(token)
        if i < 0:
            return default
        bounds = self._bounds
        a, b = bounds[i], bounds[i + 1]
        return self._docs[a:b], self._w[a:b]

    def __getitem__(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        found = self.get(token)
        if found is None:
            raise KeyError(token)
        return found

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self.position(token) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def prefixed(self, prefix: str) -> list[str]:
        return [self.tokens[i] for i in self.tokens.prefixed(prefix)]


class _ByToken:
    """A per-token float array read as ``mapping[token]``."""

    def __init__(self, postings: _Postings, values: np.ndarray) -> None:
        self._postings = postings
        self._values = values
        self._view = values.data  # an item is the float numpy's scalar converts to

    def __getitem__(self, token: str) -> float:
        i = self._postings.position(token)
        if i < 0:
            raise KeyError(token)
        return cast(float, self._view[i])


class _Surface:
    """stem -> the word as first written (completions, the why)."""

    def __init__(self, stems: StrTable, words: StrTable) -> None:
        self._stems = stems
        self._words = words

    def get(self, key: str, default: str) -> str:
        i = self._stems.find(key)
        return self._words[i] if i >= 0 else default


class _Known:
    """Stems the directory or its vocabulary knows."""

    def __init__(self, postings: _Postings, vocabulary: frozenset[str]) -> None:
        self._postings = postings
        self._vocabulary = vocabulary

    def __contains__(self, token: object) -> bool:
        return token in self._vocabulary or token in self._postings


class _Places:
    """Postcodes or outward codes -> [(latitude, longitude)] (their centre)."""

    def __init__(self, names: StrTable, lat: np.ndarray, lon: np.ndarray) -> None:
        self._names = names
        self._lat = lat
        self._lon = lon

    def get(self, key: str, default: Any = None) -> Any:
        i = self._names.find(key)
        return [(float(self._lat[i]), float(self._lon[i]))] if i >= 0 else default


class _Docs(Sequence[IndexDoc]):
    """Each service's record, decoded only when asked for; the last few thousand asked for
    are kept (a search typed key by key shows many of the same services on every key).
    Callers only read them."""

    KEPT = 4096

    def __init__(self, table: StrTable) -> None:
        self._table = table
        self._kept: dict[int, IndexDoc] = {}

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        kept = self._kept.get(i)
        if kept is not None:
            return kept
        data = json.loads(self._table[i])
        verified = data.pop("last_verified")
        data["last_verified"] = date.fromisoformat(verified) if verified else None
        data["locations"] = [tuple(loc) for loc in data["locations"]]
        doc = IndexDoc(**data)
        if len(self._kept) >= self.KEPT:
            self._kept.clear()
        self._kept[i] = doc
        return doc


# --- writing ------------------------------------------------------------------------------


def _doc_line(doc: IndexDoc) -> str:
    return json_line(_doc_data(doc)).decode("utf-8")


def json_line(data: Any) -> bytes:
    """``json.dumps(data, ensure_ascii=False, separators=(",", ":"))`` in UTF-8."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _fast_line() -> Any:
    """A service's record line (``_doc_line``) in UTF-8, encoded in C (msgspec), used while
    a whole directory streams past: the same bytes, as msgspec writes the document's
    fields in their order (a date as its ISO form), and text and most floats exactly as
    json.dumps does; a float Python writes with an exponent (below 1e-4 or from 1e16) is
    left to the json module (a record's only floats are its locations' coordinates,
    checked first)."""
    import msgspec  # not at import: a search opening the file never writes one

    encode = msgspec.json.Encoder().encode

    def line(doc: IndexDoc) -> bytes:
        for place in doc.locations:
            for value in place[2:]:
                if value and not 1e-4 <= abs(value) < 1e16:
                    return json_line(_doc_data(doc))
        try:
            return encode(doc)
        except (TypeError, UnicodeEncodeError, msgspec.EncodeError):
            return json_line(_doc_data(doc))

    return line


def _doc_bytes(doc: IndexDoc, line: Any) -> bytes:
    """``doc``'s record line by ``line`` (``_fast_line()``)."""
    line_bytes: bytes = line(doc)
    return line_bytes


def _doc_data(doc: IndexDoc) -> dict[str, Any]:
    """What a service's record line holds, in its order (``IndexDoc``'s fields')."""
    return {
        "service_id": doc.service_id,
        "source_id": doc.source_id,
        "name": doc.name,
        "organisation": doc.organisation,
        "description": doc.description,
        "taxonomy_terms": doc.taxonomy_terms,
        "domains": doc.domains,
        "z_codes": doc.z_codes,
        "languages": doc.languages,
        "min_age": doc.min_age,
        "max_age": doc.max_age,
        "is_free": doc.is_free,
        "last_verified": doc.last_verified.isoformat() if doc.last_verified else None,
        "opening_hours": doc.opening_hours,
        "phone": doc.phone,
        "locations": doc.locations,
    }


_first, _second = itemgetter(0), itemgetter(1)


def _centres(places: dict[str, list[tuple[float, float]]]) -> tuple[list[str], Any, Any]:
    names = sorted(places)  # (code point order: UTF-8's byte order)
    # summed one by one, left to right, as sum() of a generator would (the same floats)
    lat = np.array([sum(map(_first, places[k])) / len(places[k]) for k in names])
    lon = np.array([sum(map(_second, places[k])) / len(places[k]) for k in names])
    return names, lat, lon


class _Spill:
    """Strings written to a temporary file as they come (each service's record while the
    directory streams past), then copied into the index file: a byte array the index
    file holds without the strings ever being in memory together."""

    dtype = np.dtype(np.uint8)

    def __init__(self, folder: Path) -> None:
        self._file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (closed by close)
        self.ends = numbers("q", [0])

    def add(self, text: str | bytes) -> None:
        raw = text if isinstance(text, bytes) else text.encode("utf-8")
        self._file.write(raw)
        self.ends.append(self.ends[-1] + len(raw))

    def add_many(self, raws: list[bytes]) -> None:
        """``add`` each of ``raws``, in one write."""
        self._file.write(b"".join(raws))
        ends = itertools.accumulate(map(len, raws), initial=self.ends[-1])
        next(ends)  # the end already held
        self.ends.extend(ends)

    @property
    def size(self) -> int:
        return self.ends[-1]

    nbytes = size

    def offsets(self) -> np.ndarray:
        return np.frombuffer(self.ends, dtype=np.int64)

    def copy_to(self, out: Any) -> None:
        self._file.seek(0)
        shutil.copyfileobj(self._file, out, 1 << 20)

    def close(self) -> None:
        self._file.close()


def write_index(session: Session, path: Path, stamp: str, chunk: int = 2000) -> int:
    """Build the index of the database's directory straight into an index file at
    ``path`` (atomically): the services stream past a chunk at a time
    (``directory.index.stream_docs``), what ranking needs is kept in compact arrays and
    each service's record goes to a temporary file, so memory does not grow with the
    services' text. The same file as ``save_index(ServiceIndex.build(session), ...)``.
    Returns the number of services indexed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    builder = IndexBuilder()
    docs, names = _Spill(path.parent), _Spill(path.parent)
    line = _fast_line()
    try:
        batch: list[IndexDoc] = []
        for doc in stream_docs(session, chunk):
            batch.append(doc)
            if len(batch) >= BATCH:
                _spill_docs(batch, docs, names, line)
                builder.add_many(batch)
                batch = []
        _spill_docs(batch, docs, names, line)
        builder.add_many(batch)
        index = ServiceIndex.__new__(ServiceIndex)
        builder.finish(index, searched=False)
        del builder
        _save(index, path, stamp, docs, names)
        return index.size
    finally:
        docs.close()
        names.close()


def _spill_docs(batch: list[IndexDoc], docs: _Spill, names: _Spill, line: Any) -> None:
    """The services' record lines (by ``line``, ``_fast_line()``) and names spilt."""
    docs.add_many([line(doc) for doc in batch])
    names.add_many([doc.name.encode("utf-8") for doc in batch])


def save_index(index: ServiceIndex, path: Path, stamp: str) -> None:
    """Write ``index`` to ``path`` atomically (a reader sees the old file or the new one)."""
    _save(index, path, stamp, None, None)


def _save(
    index: ServiceIndex, path: Path, stamp: str, docs: _Spill | None, names: _Spill | None
) -> None:
    arrays: dict[str, Any] = {}
    flat = index.__dict__.get("_flat_postings")
    if flat is not None:  # built in the file's order (IndexBuilder._postings)
        by_bytes, starts, post_docs, post_w = flat
        arrays["tok_blob"], arrays["tok_off"] = _pack(by_bytes)
        arrays["post_start"] = starts
        arrays["post_docs"] = post_docs.astype(np.int32, copy=False)
        arrays["post_w"] = post_w.astype(np.float32, copy=False)
    else:
        # (str order is code point order: UTF-8's byte order, which the tables are read in)
        by_bytes = sorted(index._postings)
        arrays["tok_blob"], arrays["tok_off"] = _pack(by_bytes)
        lists = [index._postings[t] for t in by_bytes]
        starts = np.zeros(len(lists) + 1, dtype=np.int64)
        starts[1:] = np.cumsum([d.size for d, _w in lists])
        arrays["post_start"] = starts
        arrays["post_docs"] = (
            np.concatenate([d for d, _w in lists]).astype(np.int32)
            if lists
            else np.zeros(0, np.int32)
        )
        arrays["post_w"] = (
            np.concatenate([w for _d, w in lists]).astype(np.float32)
            if lists
            else np.zeros(0, np.float32)
        )
    arrays["idf"] = np.array([index._idf[t] for t in by_bytes], dtype=np.float32)
    stems = sorted(s for s in index._surface if s in index._postings)
    arrays["sur_blob"], arrays["sur_off"] = _pack(stems)
    arrays["surw_blob"], arrays["surw_off"] = _pack([index._surface[s] for s in stems])
    spelling = sorted(index._dictionary)
    arrays["dict_blob"], arrays["dict_off"] = _pack(spelling)
    arrays["free"] = index._free.astype(np.uint8)
    arrays["min_age"] = index._min_age
    arrays["max_age"] = index._max_age
    arrays["verified"] = index._verified
    languages = sorted(index._languages)
    lang_parts = [index._languages[k] for k in languages]
    arrays["lang_docs"] = (
        np.concatenate(lang_parts).astype(np.int32) if lang_parts else np.zeros(0, np.int32)
    )
    arrays["no_language"] = index._no_language.astype(np.int32)
    for day, (d, o, c) in index._hours.items():
        arrays[f"h{day}_docs"], arrays[f"h{day}_opens"], arrays[f"h{day}_closes"] = d, o, c
    arrays["loc_doc"] = index._loc_doc
    arrays["loc_lat"] = index._loc_lat
    arrays["loc_lon"] = index._loc_lon
    for name, places in (("pc", index._postcodes), ("out", index._outward)):
        keys, lat, lon = _centres(places)
        arrays[f"{name}_blob"], arrays[f"{name}_off"] = _pack(keys)
        arrays[f"{name}_lat"], arrays[f"{name}_lon"] = lat, lon
    if docs is None or names is None:
        arrays["doc_blob"], arrays["doc_off"] = _pack(_doc_line(d) for d in index.docs)
        arrays["name_blob"], arrays["name_off"] = _pack(d.name for d in index.docs)
    else:
        arrays["doc_blob"], arrays["doc_off"] = docs, docs.offsets()
        arrays["name_blob"], arrays["name_off"] = names, names.offsets()
    # each town's centre, summed as _centres sums
    towns = {
        key: [sum(map(_first, pts)) / len(pts), sum(map(_second, pts)) / len(pts)]
        for key, pts in index._towns.items()
    }
    header: dict[str, Any] = {
        "version": VERSION,
        "stamp": stamp,
        "size": index.size,
        "languages": [[k, int(v.size)] for k, v in zip(languages, lang_parts, strict=True)],
        "towns": {k: [v[0], v[1], index._town_names.get(k, k)] for k, v in towns.items()},
        "arrays": {},
    }
    offset = 0
    for name, array in arrays.items():
        if not isinstance(array, _Spill):
            array = arrays[name] = np.ascontiguousarray(array)
        header["arrays"][name] = [offset, array.dtype.str, int(array.size)]
        offset += -(-array.nbytes // ALIGN) * ALIGN
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    start = -(-(len(MAGIC) + 8 + len(head)) // ALIGN) * ALIGN
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + len(head).to_bytes(8, "little") + head)
            out.write(b"\x00" * (start - out.tell()))
            for name, array in arrays.items():
                at = start + header["arrays"][name][0]
                out.write(b"\x00" * (at - out.tell()))
                if isinstance(array, _Spill):
                    array.copy_to(out)
                elif array.nbytes:
                    out.write(array.data.cast("B"))  # the array's own bytes, no copy
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def restamp_index(path: Path, was: str, now: str) -> bool:
    """Give the index file at ``path`` the stamp ``now`` if it was built for ``was``
    (the directory has changed state without any service changing: an import that found
    every service as it was). The file is rewritten atomically with only its header's
    stamp changed: the same bytes as a build of the directory would write, in the time a
    copy takes. False (nothing written) when the file is not the one for ``was``."""
    try:
        handle = path.open("rb")
    except OSError:
        return False
    with handle:
        if handle.read(len(MAGIC)) != MAGIC:
            return False
        length = int.from_bytes(handle.read(8), "little")
        if not 0 < length < 1 << 24:
            return False
        try:
            header = json.loads(handle.read(length))
        except ValueError:
            return False
        if header.get("version") != VERSION or header.get("stamp") != was:
            return False
        handle.seek(-(-(len(MAGIC) + 8 + length) // ALIGN) * ALIGN)
        header["stamp"] = now
        head = json.dumps(header, separators=(",", ":")).encode("utf-8")
        start = -(-(len(MAGIC) + 8 + len(head)) // ALIGN) * ALIGN
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + len(head).to_bytes(8, "little") + head)
                out.write(b"\x00" * (start - out.tell()))
                shutil.copyfileobj(handle, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return True


# --- reading ------------------------------------------------------------------------------


def read_stamp(path: Path) -> str | None:
    """The stamp of the index file at ``path``, or None when there is none we can read."""
    try:
        with path.open("rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                return None
            length = int.from_bytes(handle.read(8), "little")
            if not 0 < length < 1 << 24:
                return None
            header = json.loads(handle.read(length))
    except (OSError, ValueError):
        return None
    if header.get("version") != VERSION:
        return None
    stamp = header.get("stamp")
    return stamp if isinstance(stamp, str) else None


class MappedIndex(ServiceIndex):
    """A ``ServiceIndex`` read from an index file (``open_index``)."""

    _file: mmap.mmap
    _spelling_table: StrTable
    _names: StrTable

    def _name(self, i: int) -> str:
        names: dict[int, str] = self.__dict__.setdefault("_names_kept", {})
        name = names.get(i)
        if name is None:
            if len(names) >= _Docs.KEPT:
                names.clear()
            name = names[i] = self._names[i]
        return name

    @property
    def _dictionary(self) -> list[str]:  # type: ignore[override]
        """The spelling words, decoded on the first misspelling."""
        words = self.__dict__.get("_spelling")
        if words is None:
            words = self.__dict__["_spelling"] = list(self._spelling_table)
        return cast(list[str], words)


def open_index(path: Path, stale_months: int = 12) -> MappedIndex:
    """Map an index file; ValueError if it is not one this linkwork wrote."""
    with path.open("rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    if mapped[: len(MAGIC)] != MAGIC:
        raise ValueError(f"{path} is not a linkwork search index")
    length = int.from_bytes(mapped[len(MAGIC) : len(MAGIC) + 8], "little")
    header = json.loads(mapped[len(MAGIC) + 8 : len(MAGIC) + 8 + length])
    if header.get("version") != VERSION:
        raise ValueError(f"{path} was written by another version of linkwork")
    start = -(-(len(MAGIC) + 8 + length) // ALIGN) * ALIGN

    def array(name: str) -> np.ndarray:
        offset, dtype, count = header["arrays"][name]
        return np.frombuffer(mapped, dtype=np.dtype(dtype), count=count, offset=start + offset)

    def table(name: str) -> StrTable:
        return StrTable(array(f"{name}_blob"), array(f"{name}_off"))

    index = MappedIndex.__new__(MappedIndex)
    index._file = mapped
    index.stale_months = stale_months
    index.size = int(header["size"])
    postings = _Postings(table("tok"), array("post_start"), array("post_docs"), array("post_w"))
    index._postings = postings  # type: ignore[assignment]
    index._idf = _ByToken(postings, array("idf"))  # type: ignore[assignment]
    index._vocab = load_vocabulary()
    index._known_stems = _Known(  # type: ignore[assignment]
        postings, frozenset(t for p in index._vocab.phrases for t in p.key)
    )
    index._sorted_tokens = table("sur")  # type: ignore[assignment]
    index._surface = _Surface(table("sur"), table("surw"))  # type: ignore[assignment]
    index._spelling_table = table("dict")
    index._free = array("free").astype(bool)
    index._min_age = array("min_age")
    index._max_age = array("max_age")
    index._verified = array("verified")
    lang_docs = array("lang_docs")
    index._languages = {}
    at = 0
    for name, count in header["languages"]:
        index._languages[name] = lang_docs[at : at + count]
        at += count
    index._no_language = array("no_language")
    index._hours = {
        d: (array(f"h{d}_docs"), array(f"h{d}_opens"), array(f"h{d}_closes")) for d in range(1, 8)
    }
    index._loc_doc = array("loc_doc")
    index._loc_lat = array("loc_lat")
    index._loc_lon = array("loc_lon")
    index._postcodes = _Places(table("pc"), array("pc_lat"), array("pc_lon"))  # type: ignore[assignment]
    index._outward = _Places(table("out"), array("out_lat"), array("out_lon"))  # type: ignore[assignment]
    index._towns = {k: [(v[0], v[1])] for k, v in header["towns"].items()}
    index._town_names = {k: v[2] for k, v in header["towns"].items()}
    index.docs = _Docs(table("doc"))  # type: ignore[assignment]
    index._names = table("name")
    return index
