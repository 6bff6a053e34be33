"""The recovery journal: the latest text of every dirty document, written within ~2 s of
the last keystroke, so a crash or power cut loses at most that much.

One JSON file per document (named by a hash of its path), written atomically. After a clean
save the entry is cleared; entries still present at start-up whose text differs from the file
on disk are offered for restore.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from desktop.library.atomic_write import atomic_write_text
from desktop.library.document_file import content_hash, decode_document, text_hash

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryEntry:
    document: Path
    text: str
    saved_at: float
    disk_exists: bool
    disk_text: str
    cursor: int | None = None  # where the writer's cursor was, to put it back on restore


class RecoveryJournal:
    """All writes go through one background thread, in order: ``record_in_background`` keeps
    a big document's journal write (encode + fsync) off the GUI thread; the other methods wait
    for it, so a ``clear`` never races an older ``record``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")

    def record_in_background(
        self,
        document: Path,
        text: str,
        on_error: Callable[[OSError], None] | None = None,
        cursor: int | None = None,
    ) -> Future[None]:
        def write() -> None:
            try:
                self._record(document, text, cursor)
            except OSError as exc:
                logger.error("Couldn't write the recovery journal: %s", exc)
                if on_error is not None:
                    on_error(exc)

        return self._writer.submit(write)

    def flush(self) -> None:
        self._writer.submit(lambda: None).result()

    def _entry_path(self, document: Path) -> Path:
        key = hashlib.sha256(str(Path(document).resolve()).encode("utf-8")).hexdigest()[:32]
        return self.folder / f"{key}.json"

    def record(self, document: Path, text: str, cursor: int | None = None) -> None:
        """Raises OSError if even the journal can't be written (the caller tells the user)."""
        self._writer.submit(self._record, document, text, cursor).result()

    def _record(self, document: Path, text: str, cursor: int | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        entry: dict[str, object] = {
            "document": str(Path(document).resolve()),
            "text": text,
            "text_sha256": text_hash(text),
            "saved_at": time.time(),
        }
        if cursor is not None:
            entry["cursor"] = cursor
        atomic_write_text(self._entry_path(document), json.dumps(entry, ensure_ascii=False))

    def clear(self, document: Path) -> None:
        self.clear_in_background(document).result()

    def clear_in_background(self, document: Path) -> Future[None]:
        """After any ``record`` already asked for (same thread, in order)."""
        path = self._entry_path(document)
        return self._writer.submit(path.unlink, missing_ok=True)

    def has_entry(self, document: Path) -> bool:
        self.flush()
        return self._entry_path(document).exists()

    def pending(self) -> list[RecoveryEntry]:
        """Entries whose text is newer than (different from) the file on disk."""
        found: list[RecoveryEntry] = []
        self.flush()
        if not self.folder.is_dir():
            return found
        for entry_file in sorted(self.folder.glob("*.json")):
            try:
                raw = json.loads(entry_file.read_text(encoding="utf-8"))
                document = Path(raw["document"])
                text = raw["text"]
                if text_hash(text) != raw["text_sha256"]:
                    raise ValueError("checksum mismatch")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.warning("Ignoring damaged journal entry %s: %s", entry_file.name, exc)
                continue
            try:
                data = document.read_bytes()
                exists = True
            except FileNotFoundError:
                data, exists = b"", False
            except OSError as exc:
                logger.warning("Can't read %s to compare with its journal: %s", document, exc)
                data, exists = b"", True
            if exists and content_hash(data) == text_hash(text):
                entry_file.unlink(missing_ok=True)  # nothing newer than disk
                continue
            cursor = raw.get("cursor")
            found.append(
                RecoveryEntry(
                    document,
                    text,
                    float(raw["saved_at"]),
                    exists,
                    decode_document(data),
                    cursor if isinstance(cursor, int) and not isinstance(cursor, bool) else None,
                )
            )
        return found
