"""Atomic file writes: a file either exists complete or not at all.

The data go to a temporary file in the target folder, created with its final mode
(so a private key is never readable by others, not even for a moment), flushed and
fsync'd, then renamed over the target with ``os.replace``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write(
    path: Path | str, data: bytes | str, *, mode: int = 0o644, sync_folder: bool = True
) -> Path:
    """Write ``data`` to ``path`` atomically with permissions ``mode``; return the path.

    ``sync_folder=False`` skips the fsync of the folder after the rename (a batch writing
    many files into one folder calls ``sync_folder`` once at the end instead)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"folder {folder} does not exist")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    # mkstemp creates the file with O_EXCL and mode 0600; widen it only if asked.
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        if mode != 0o600:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    if sync_folder:
        fsync_folder(folder)
    return target


def fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_many(items: list[tuple[Path, bytes | str, int]]) -> list[Path]:
    """Write several files, each atomically: all temp files first, one ``os.sync()`` (far
    cheaper than an fsync per file), then each is renamed into place and each folder
    fsync'd once. If anything fails before the renames, no target file is touched."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, data, mode in items:
            target = Path(path)
            folder = target.parent if str(target.parent) else Path(".")
            if not folder.is_dir():
                raise ValueError(f"folder {folder} does not exist")
            raw = data.encode("utf-8") if isinstance(data, str) else data
            fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
            temps.append((temp_name, target))
            if mode != 0o600:
                os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(raw)
        os.sync()
    except BaseException:
        for temp_name, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
        raise
    for temp_name, target in temps:
        os.replace(temp_name, target)
    for folder in {t.parent for _, t in temps}:
        fsync_folder(folder)
    return [t for _, t in temps]
