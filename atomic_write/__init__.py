"""Crash-safe file writes: the one way Draftsmith replaces a file on disk.

The new bytes go to a temp file with a unique name in the target's folder, are flushed and
fsynced, take the old file's permission bits, and are renamed over the target; then the folder
is fsynced so the rename itself survives a power cut. A reader, or a crash at any moment, sees
the old file or the new one, never half of each, and two writers never share a temp file.

A top-level package of its own so every room may use it without importing another room: the
library and sync (``desktop``) and the licensing client (which must not import ``desktop``)."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["NEW_FILE_MODE", "write_bytes", "write_chunks", "write_text"]

log = logging.getLogger(__name__)

NEW_FILE_MODE = 0o644  # a file that did not exist yet: readable by others, like a plain open()


def write_bytes(path: Path, data: bytes, *, make_parents: bool = False) -> None:
    """Replace ``path`` with ``data``; raise ``OSError`` as the OS reports it, the target
    untouched. ``make_parents`` creates missing folders first (otherwise a missing folder is
    an error, as the caller may want to say so)."""
    write_chunks(path, (data,), make_parents=make_parents)


def write_text(path: Path, text: str, *, make_parents: bool = False) -> None:
    write_bytes(path, text.encode("utf-8"), make_parents=make_parents)


def write_chunks(
    path: Path,
    chunks: Iterable[bytes],
    *,
    ready: Callable[[], bool] | None = None,
    make_parents: bool = False,
    temp_suffix: str = ".tmp",
) -> bool:
    """Stream ``chunks`` into a replacement for ``path``.

    ``ready`` is asked after the data is on disk and before the rename: it may raise (the
    target is untouched and the error passes on) or return False (nothing replaced; returns
    False). ``temp_suffix`` lets a caller recognise its own temp files."""
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=temp_suffix, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if ready is not None and not ready():
            tmp.unlink(missing_ok=True)
            return False
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return True


def _mode_for(path: Path) -> int:
    """The replaced file's permission bits (mkstemp's temp file is private)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return NEW_FILE_MODE


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); skipped where folders cannot be opened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        log.debug("fsync of folder %s not supported", folder)
    finally:
        os.close(fd)
