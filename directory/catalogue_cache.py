"""The codes catalogue (and the search vocabulary) as directory search reads them, kept
ready-made between processes.

Reading a person's words (``directory.vocabulary.need_hints``) needs the codes catalogue
and its lay-language search index: loading and checking its files and building the index
takes a command-line search about 0.15 s, most of the time a search has (issue 18: under
0.3 s). The loaded catalogue is therefore kept, as Python keeps compiled modules, in the
codes package's ``__pycache__`` folder: a pickle named by a hash of every file of the codes
package (its data and its code) and of the Python and stemmer versions, so an edited
catalogue, a changed loader or another interpreter never reads an old one. The file is
written atomically; when it cannot be written (a read-only install) or read, the catalogue
is loaded from its files as before. The pickle is trusted as the compiled modules beside
it are (whoever can write there can change the code itself). ``kept`` does the same for
``directory.vocabulary.load_vocabulary`` (in the directory package's ``__pycache__``).
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import os
import pickle
import sys
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Any

from codes.catalogue import DATA_DIR, Catalogue, load_catalogue_from

PROTOCOL = 5
STEMMER_LANGUAGE = "english"  # codes.search builds its index with this stemmer


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def cache_key(folder: Path) -> str:
    """A hash of the catalogue's files and code, and of what its pickle depends on."""
    return files_key(_sources(folder))


def files_key(files: list[Path]) -> str:
    """A hash of these files (names and bytes) and of the Python and stemmer versions."""
    import snowballstemmer

    digest = hashlib.sha256()
    digest.update(sys.version.encode())
    digest.update(str(getattr(snowballstemmer, "__version__", "")).encode())
    digest.update(type(snowballstemmer.stemmer(STEMMER_LANGUAGE)).__module__.encode())
    for path in files:
        digest.update(path.name.encode() + b"\x00")
        digest.update(path.read_bytes())
        digest.update(b"\x00")
    return digest.hexdigest()[:24]


def _new_stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(STEMMER_LANGUAGE)


def _dumps(catalogue: Catalogue) -> bytes:
    """The catalogue pickled; its stemmer and lock (which cannot be) made anew on load."""
    stemmer = catalogue.index.stemmer
    table = copyreg.dispatch_table.copy()
    table[type(stemmer)] = lambda _s: (_new_stemmer, ())
    table[type(threading.Lock())] = lambda _l: (threading.Lock, ())
    out = io.BytesIO()
    pickler = pickle.Pickler(out, PROTOCOL)
    pickler.dispatch_table = table
    pickler.dump(catalogue)
    return out.getvalue()


def load_cached(folder: Path, cache_folder: Path | None = None) -> Catalogue:
    """The catalogue of ``folder``: from its cached pickle when that is of these very files,
    otherwise loaded from them (``codes.catalogue.load_catalogue_from``) and cached."""
    return kept(
        cache_folder or folder / "__pycache__",
        "catalogue",
        cache_key(folder),
        lambda: load_catalogue_from(folder),
        Catalogue,
        _dumps,
    )


def kept(where: Path, name: str, key: str, make: Any, kind: type, dumps: Any = None) -> Any:
    """``make()``'s value, kept in ``where`` as ``NAME-KEY.pickle``: read from there when it
    is (a ``kind``), else made and written there (atomically, other keys of NAME removed;
    nothing written when it cannot be)."""
    path = where / f"{name}-{key}.pickle"
    try:
        found = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        found = None
    if isinstance(found, kind):
        return found
    value = make()
    try:
        where.mkdir(exist_ok=True)
        for old in where.glob(f"{name}-*.pickle"):
            if old != path:  # another key's (an older catalogue's); this one is rewritten
                old.unlink(missing_ok=True)
        data = dumps(value) if dumps else pickle.dumps(value, PROTOCOL)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=where)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a read-only install (or a value that cannot be kept): made each time
    return value


@cache
def catalogue() -> Catalogue:
    """The packaged codes catalogue (``codes.catalogue.DATA_DIR``), once per process."""
    return load_cached(DATA_DIR)
