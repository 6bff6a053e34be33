"""One open document: its editor, its file, and the timers that keep it safe.

- autosave a few seconds after typing stops (and on focus loss), atomically;
- recovery journal ~1.5 s after the last keystroke;
- snapshots on open and at most every N minutes of editing;
- a file watcher: reload when there are no local edits, otherwise keep both.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from desktop.library import (
    ChangedOnDiskError,
    DocumentFile,
    Library,
    RecoveryJournal,
    SaveError,
)
from desktop.library.document_title import is_untitled
from desktop.library.word_count import ParagraphWordCounter
from desktop.ui.document_editor import DocumentEditor

logger = logging.getLogger(__name__)

RETRY_SECONDS = 10
# Someone typing without a pause still gets saved this often (autosave waits for a pause).
AUTOSAVE_AT_LEAST_EVERY_SECONDS = 30


class OpenDocument(QObject):
    saved = Signal()
    save_failed = Signal(str)
    conflict_kept_both = Signal(str)  # message for the user
    reloaded = Signal()
    path_changed = Signal()
    dirty_changed = Signal(bool)
    journal_failed = Signal()  # emitted from the journal thread; delivered on the GUI thread

    def __init__(
        self,
        path: Path,
        library: Library,
        journal: RecoveryJournal,
        *,
        autosave_seconds: float = 3,
        journal_seconds: float = 1.5,
        snapshot_minutes: float = 10,
        read_only: bool = False,
    ) -> None:
        super().__init__()
        self.library = library
        self.journal = journal
        self.file = DocumentFile(path)
        self.read_only = read_only
        self.snapshot_minutes = snapshot_minutes
        self.counter = ParagraphWordCounter()
        # Named after its first heading or line on each save, until the writer renames it.
        self.auto_title = is_untitled(self.file.path.stem) and library.contains(self.file.path)
        self.last_error = ""
        self.editor = DocumentEditor()
        text = self.file.read() if self.file.path.exists() else ""
        self.editor.load_text(text)
        self.editor.setReadOnly(read_only)
        self._last_snapshot = time.monotonic()
        if not read_only:
            self._snapshot(text, "opened")

        self.autosave_timer = self._single_shot(autosave_seconds, self.autosave)
        self.autosave_deadline = self._single_shot(AUTOSAVE_AT_LEAST_EVERY_SECONDS, self.autosave)
        self.journal_timer = self._single_shot(journal_seconds, self.write_journal)
        self.retry_timer = self._single_shot(RETRY_SECONDS, self.autosave)
        self.journal_failed.connect(self._report_journal_failure)
        self.editor.document_edited.connect(self._on_edited)
        self.editor.focus_lost.connect(self.autosave)
        self.editor.document().modificationChanged.connect(self.dirty_changed)
        self.watcher = QFileSystemWatcher(self)
        self._watch()
        self.watcher.fileChanged.connect(self._on_file_changed)

    def _single_shot(self, seconds: float, slot: object) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(int(seconds * 1000))
        timer.timeout.connect(slot)
        return timer

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def title(self) -> str:
        return self.path.stem

    def is_dirty(self) -> bool:
        return self.editor.document().isModified()

    def word_count(self) -> int:
        return self.counter.count(self.editor.text())

    # ----- typing ------------------------------------------------------------------------------
    def _on_edited(self) -> None:
        if self.read_only:
            return
        self.autosave_timer.start()  # restarts: waits for a pause in typing
        if not self.autosave_deadline.isActive():
            self.autosave_deadline.start()
        # Not restarted while running: the journal is written at most ~1.5 s after the first
        # unjournaled keystroke even when the writer never pauses.
        if not self.journal_timer.isActive():
            self.journal_timer.start()

    def write_journal(self, *, wait: bool = False) -> None:
        """In the background by default (the timer); ``wait`` for crash and save-failure paths."""
        if self.read_only or not self.is_dirty():
            return
        if not wait:
            self.journal.record_in_background(
                self.path,
                self.editor.text(),
                lambda _exc: self.journal_failed.emit(),
                cursor=self.editor.cursor_position(),
            )
            return
        try:
            self.journal.record(self.path, self.editor.text(), self.editor.cursor_position())
        except OSError as exc:
            logger.error("Couldn't write the recovery journal: %s", exc)
            self._report_journal_failure()

    def _report_journal_failure(self) -> None:
        self.save_failed.emit(
            "Couldn't write the recovery journal (the disk may be full). "
            "Your text is still in the editor; save it somewhere else if you can."
        )

    # ----- saving --------------------------------------------------------------------------------
    def autosave(self) -> None:
        if self.is_dirty():
            self.save()

    def save(self) -> bool:
        """Save now; returns True when the text on disk equals the editor's."""
        if self.read_only:
            return False
        self.autosave_timer.stop()
        self.autosave_deadline.stop()
        self.retry_timer.stop()
        text = self.editor.text()
        try:
            self.file.save(text)
        except ChangedOnDiskError:
            return self._keep_both(text)
        except SaveError as error:
            self.last_error = str(error)
            self.write_journal(wait=True)
            self.save_failed.emit(str(error))
            if error.retryable:
                self.retry_timer.start()
            return False
        self.last_error = ""
        self.editor.document().setModified(False)
        self.journal.clear(self.path)
        if time.monotonic() - self._last_snapshot >= self.snapshot_minutes * 60:
            self._snapshot(text, "autosnapshot")
        self._watch()
        self.saved.emit()
        return True

    def _snapshot(self, text: str, reason: str) -> None:
        if not self.library.contains(self.path):
            return
        try:
            self.library.snapshots.take(self.path, text, reason)
            self._last_snapshot = time.monotonic()
        except OSError as exc:
            logger.warning("Couldn't take a snapshot: %s", exc)

    def take_snapshot(self, reason: str) -> None:
        self._snapshot(self.editor.text(), reason)

    # ----- changes from outside ----------------------------------------------------------------
    def _watch(self) -> None:
        files = self.watcher.files()
        if files:
            self.watcher.removePaths(files)
        if self.path.exists():
            self.watcher.addPath(str(self.path))

    def _on_file_changed(self, _path: str) -> None:
        self.check_disk()

    def check_disk(self) -> None:
        """React to the file having changed on disk (called by the watcher and on focus)."""
        if self.read_only and not self.path.exists():
            return
        if not self.file.changed_on_disk():
            self._watch()
            return
        if not self.path.exists():
            # Deleted or moved away by another program: keep the text; saving recreates it.
            logger.info("Open document vanished from disk; it will be recreated on save")
            self.file.disk_hash = None
            self.editor.document().setModified(True)
            self._on_edited()
            return
        if self.is_dirty():
            self._keep_both(self.editor.text())
        else:
            self.reload()
        self._watch()

    def reload(self) -> None:
        position = self.editor.cursor_position()
        text = self.file.read()
        self.editor.replace_all_text_as_one_undo_step(text)
        self.editor.document().setModified(False)
        self.editor.set_cursor_position(position)
        self.reloaded.emit()

    def _keep_both(self, text: str) -> bool:
        """Another program changed the file and we have edits: save ours beside it."""
        original = self.path
        try:
            copy = self.file.save_conflict_copy(text)
        except SaveError as error:
            self.save_failed.emit(str(error))
            return False
        self.journal.clear(original)
        self.file = DocumentFile(copy)
        self.file.read()
        self.editor.document().setModified(False)
        self._watch()
        self.path_changed.emit()
        self.conflict_kept_both.emit(
            f"“{original.name}” was changed by another program while you were editing it. "
            f"Nothing was overwritten: your version is saved as “{copy.name}” and stays open; "
            f"the other version is still in “{original.name}”."
        )
        return True

    def rebind(self, new_path: Path) -> None:
        """The file was renamed or moved by the library."""
        self.journal.clear(self.file.path)
        disk_hash = self.file.disk_hash
        self.file = DocumentFile(new_path)
        self.file.disk_hash = disk_hash
        self._watch()
        self.path_changed.emit()
        if self.is_dirty():
            self.write_journal(wait=True)

    def close(self) -> bool:
        """Save and stop; returns False if the text could not be saved."""
        ok = True if self.read_only else (not self.is_dirty() or self.save())
        for timer in (
            self.autosave_timer,
            self.autosave_deadline,
            self.journal_timer,
            self.retry_timer,
        ):
            timer.stop()
        files = self.watcher.files()
        if files:
            self.watcher.removePaths(files)
        return ok
