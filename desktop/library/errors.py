"""Errors the library raises, each with a message a writer can read."""

from __future__ import annotations

import errno
from pathlib import Path


class LibraryError(Exception):
    """Base class: ``str(error)`` is a plain-words message for the user."""


class SaveError(LibraryError):
    """Writing a file failed; the text is still in the editor and the journal."""

    def __init__(self, path: Path, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.path = path
        self.retryable = retryable


class ChangedOnDiskError(LibraryError):
    """The file changed on disk since it was read; overwriting it would lose those changes."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"“{path.name}” was changed by another program since Draftsmith opened it."
        )
        self.path = path


class LibraryLockedError(LibraryError):
    def __init__(self, message: str, owner: dict[str, object], stale: bool) -> None:
        super().__init__(message)
        self.owner = owner
        self.stale = stale


def save_error_from_os_error(path: Path, exc: OSError) -> SaveError:
    """Turn an OSError into words; disk-full and similar are worth retrying later."""
    name = path.name
    code = exc.errno
    if code == errno.ENOSPC or code == errno.EDQUOT:
        return SaveError(
            path,
            f"Couldn't save “{name}”: the disk is full. Your text is safe in the editor and "
            "in the recovery journal. Free some space; Draftsmith will try again.",
            retryable=True,
        )
    if code == errno.EROFS:
        return SaveError(
            path,
            f"Couldn't save “{name}”: the folder is on a read-only disk. Your text is safe in "
            "the editor; use Save As to put it somewhere else.",
            retryable=False,
        )
    if code in (errno.EACCES, errno.EPERM):
        return SaveError(
            path,
            f"Couldn't save “{name}”: Draftsmith isn't allowed to write in “{path.parent}”. "
            "Your text is safe in the editor; check the folder's permissions or use Save As.",
            retryable=True,
        )
    return SaveError(
        path,
        f"Couldn't save “{name}”: {exc.strerror or exc}. Your text is safe in the editor; "
        "Draftsmith will try again.",
        retryable=True,
    )
