"""Qt-free document library: files on disk (atomic saves), recovery journal, snapshots, export.

Autosave timing lives in the UI (`desktop/ui/open_document.py`); it saves through here."""

from __future__ import annotations

from desktop.library.document_file import DocumentFile
from desktop.library.errors import ChangedOnDiskError, LibraryError, LibraryLockedError, SaveError
from desktop.library.library import Library
from desktop.library.notes import load_notes, save_notes
from desktop.library.recovery_journal import RecoveryJournal
from desktop.library.snapshots import SnapshotStore

__all__ = [
    "ChangedOnDiskError",
    "DocumentFile",
    "Library",
    "LibraryError",
    "LibraryLockedError",
    "RecoveryJournal",
    "SaveError",
    "SnapshotStore",
    "load_notes",
    "save_notes",
]
