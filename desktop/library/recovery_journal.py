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


class RecoveryJournal:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _entry_path(self, document: Path) -> Path:
        key = hashlib.sha256(str(Path(document).resolve()).encode("utf-8")).hexdigest()[:32]
        return self.folder / f"{key}.json"

    def record(self, document: Path, text: str) -> None:
        """Raises OSError if even the journal can't be written (the caller tells the user)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = {
            "document": str(Path(document).resolve()),
            "text": text,
            "text_sha256": text_hash(text),
            "saved_at": time.time(),
        }
        atomic_write_text(self._entry_path(document), json.dumps(entry, ensure_ascii=False))

    def clear(self, document: Path) -> None:
        self._entry_path(document).unlink(missing_ok=True)

    def has_entry(self, document: Path) -> bool:
        return self._entry_path(document).exists()

    def pending(self) -> list[RecoveryEntry]:
        """Entries whose text is newer than (different from) the file on disk."""
        found: list[RecoveryEntry] = []
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
            found.append(
                RecoveryEntry(document, text, float(raw["saved_at"]), exists,
                              decode_document(data))
            )
        return found
