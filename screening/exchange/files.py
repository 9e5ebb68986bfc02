"""Atomic file writes: a file either exists complete or not at all; private folders.

The data go to a temporary file in the target folder, created with its final mode
(so a private key is never readable by others, not even for a moment), flushed and
fsync'd, then renamed over the target with ``os.replace``. A failure names the target,
never the temporary file.

``private_folder`` makes a folder as OpenSSH makes ``~/.ssh``: 0700 whatever the umask
(the data folder, the keys, the outbox and the inbox); a folder that already exists is
left as it is.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def private_folder(path: Path | str) -> Path:
    """``path`` as a folder, made (with any missing parents) 0700 whatever the umask if it
    does not exist yet; an existing folder is left as it is. Returns the path."""
    folder = Path(path).expanduser()
    missing: list[Path] = []
    for one in (folder, *folder.parents):
        if one.exists():
            break
        missing.append(one)
    for one in reversed(missing):
        try:
            one.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            pass  # made by another process just now
        else:
            os.chmod(one, PRIVATE_FOLDER)  # the umask may have taken bits from the owner
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    return folder


def _naming(target: Path, exc: OSError) -> OSError:
    """The same error naming the file the user asked for (not the temporary file)."""
    return OSError(exc.errno, exc.strerror or str(exc), str(target))


def _check_target(target: Path) -> Path:
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"folder {folder} does not exist")
    if target.is_dir():
        raise ValueError(f"{target} is a folder: give a file name")
    return folder


def atomic_write(
    path: Path | str, data: bytes | str, *, mode: int = 0o644, sync_folder: bool = True
) -> Path:
    """Write ``data`` to ``path`` atomically with permissions ``mode``; return the path.

    ``sync_folder=False`` skips the fsync of the folder after the rename (a batch writing
    many files into one folder calls ``sync_folder`` once at the end instead)."""
    target = Path(path)
    folder = _check_target(target)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    temp_name = ""
    try:
        # mkstemp creates the file with O_EXCL and mode 0600; widen it only if asked.
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        if mode != PRIVATE_FILE:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException as exc:
        if temp_name:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
        if isinstance(exc, OSError):
            raise _naming(target, exc) from None
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
    fsync'd once. If anything fails before the renames, no target file is touched; a
    failure names the target it was writing."""
    temps: list[tuple[str, Path]] = []
    target = Path(".")
    try:
        for path, data, mode in items:
            target = Path(path)
            folder = _check_target(target)
            raw = data.encode("utf-8") if isinstance(data, str) else data
            fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
            temps.append((temp_name, target))
            if mode != PRIVATE_FILE:
                os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(raw)
        os.sync()
        for temp_name, target in temps:
            os.replace(temp_name, target)
    except BaseException as exc:
        for temp_name, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)  # the ones already renamed are gone from here
        if isinstance(exc, OSError):
            raise _naming(target, exc) from None
        raise
    for folder in {t.parent for _, t in temps}:
        fsync_folder(folder)
    return [t for _, t in temps]
