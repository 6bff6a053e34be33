"""Snapshots: older versions of each document in ``<library>/.draftsmith/snapshots/``.

Taken on open and at most every N minutes of editing (the UI decides when); identical
consecutive versions are not stored twice; the oldest are pruned beyond a limit.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from desktop import paths
from desktop.library.atomic_write import atomic_write_text
from desktop.library.document_file import decode_document

logger = logging.getLogger(__name__)

DEFAULT_KEEP = 200


@dataclass(frozen=True)
class Snapshot:
    path: Path
    taken_at: datetime
    reason: str

    @property
    def label(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M:%S} — {self.reason}"

    def read(self) -> str:
        return decode_document(self.path.read_bytes())


class SnapshotStore:
    def __init__(self, library_root: Path, keep: int = DEFAULT_KEEP) -> None:
        self.root = Path(library_root)
        self.keep = keep

    def folder_for(self, document: Path) -> Path:
        relative = Path(document).resolve().relative_to(self.root.resolve())
        return paths.meta_dir(self.root) / paths.SNAPSHOTS_DIR / relative

    def list(self, document: Path) -> list[Snapshot]:
        """Newest first."""
        folder = self.folder_for(document)
        if not folder.is_dir():
            return []
        found = []
        for file in folder.glob("*.md"):
            stamp, _, reason = file.stem.partition("_")
            try:
                taken = datetime.strptime(stamp, "%Y%m%dT%H%M%S%f")
            except ValueError:
                continue
            found.append(Snapshot(file, taken, reason.replace("-", " ") or "snapshot"))
        return sorted(found, key=lambda s: s.taken_at, reverse=True)

    def take(self, document: Path, text: str, reason: str = "autosnapshot") -> Snapshot | None:
        """Store ``text``; returns None when it equals the latest snapshot."""
        existing = self.list(document)
        if existing and existing[0].read() == text:
            return None
        folder = self.folder_for(document)
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.now()
        safe_reason = "".join(c if c.isalnum() else "-" for c in reason)[:40]
        file = folder / f"{now:%Y%m%dT%H%M%S%f}_{safe_reason}.md"
        if file.exists():  # two in the same microsecond: keep both
            file = file.with_name(f"{now:%Y%m%dT%H%M%S%f}_{safe_reason}-2.md")
        atomic_write_text(file, text)
        for old in existing[self.keep - 1 :]:
            old.path.unlink(missing_ok=True)
        return Snapshot(file, now, reason)

    def move(self, old_document: Path, new_document: Path) -> None:
        """Keep history attached to a document when it is renamed or moved."""
        old = self.folder_for(old_document)
        if old.is_dir():
            new = self.folder_for(new_document)
            new.parent.mkdir(parents=True, exist_ok=True)
            old.replace(new)


def unified_diff(
    old: str, new: str, old_label: str = "snapshot", new_label: str = "current"
) -> list[str]:
    return list(
        difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="")
    )
