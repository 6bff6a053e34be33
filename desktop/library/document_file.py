"""One Markdown file on disk: read it, save it atomically, and notice when someone else
changed it since we read it (so we never overwrite their changes silently)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path

from desktop.library.atomic_write import atomic_write_bytes
from desktop.library.errors import ChangedOnDiskError, save_error_from_os_error

logger = logging.getLogger(__name__)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_hash(text: str) -> str:
    return content_hash(text.encode("utf-8"))


def decode_document(data: bytes) -> str:
    """UTF-8 (a BOM is dropped); files other tools wrote in Latin-1 still open."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        logger.warning("File is not UTF-8; reading it as Latin-1")
        return data.decode("latin-1")


class DocumentFile:
    """Tracks the hash of what is on disk as of our last read or write.

    ``disk_hash`` is None for a file that did not exist when we first looked.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.disk_hash: str | None = None

    def read(self) -> str:
        data = self.path.read_bytes()
        self.disk_hash = content_hash(data)
        return decode_document(data)

    def current_disk_hash(self) -> str | None:
        try:
            return content_hash(self.path.read_bytes())
        except FileNotFoundError:
            return None

    def changed_on_disk(self) -> bool:
        return self.current_disk_hash() != self.disk_hash

    def save(self, text: str, *, force: bool = False) -> None:
        """Atomically write ``text``.

        Raises ChangedOnDiskError when the file changed since our last read/write (unless
        ``force``), SaveError (plain words) when the OS refuses.
        """
        if not force and self.changed_on_disk():
            raise ChangedOnDiskError(self.path)
        data = text.encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, data)
        except OSError as exc:
            raise save_error_from_os_error(self.path, exc) from exc
        self.disk_hash = content_hash(data)

    def save_conflict_copy(self, text: str, now: datetime | None = None) -> Path:
        """Keep the writer's version beside the changed file under a clearly named copy."""
        stamp = (now or datetime.now()).strftime("%Y-%m-%d %H.%M")
        base = f"{self.path.stem} (my version {stamp})"
        copy = unique_path(self.path.parent, base, self.path.suffix)
        try:
            atomic_write_bytes(copy, text.encode("utf-8"))
        except OSError as exc:
            raise save_error_from_os_error(copy, exc) from exc
        return copy


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem} {number}{suffix}"
        number += 1
    return candidate
