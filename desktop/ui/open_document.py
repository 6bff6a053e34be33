"""One open document: its editor, its file, and the timers that keep it safe.

- autosave a few seconds after typing stops (and on focus loss), atomically and off the GUI
  thread: the text is taken on the GUI thread (a join of the editor's per-paragraph mirror,
  well under a millisecond for 200,000 words), then a worker checks the disk hash, writes,
  fsyncs and counts the words; the result comes back as a queued signal, so errors are
  reported on the GUI thread; nothing after it (journal clearing, today's progress, the
  watcher's look at the file) waits on the disk there either;
- recovery journal ~1.5 s after the last keystroke;
- snapshots on open and at most every N minutes of editing;
- a file watcher: reload when there are no local edits, otherwise keep both (the file is
  read and hashed on the save thread; only a real change comes back to the GUI thread).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _SaveOutcome:
    """What a background save did; handed to the GUI thread by a queued signal."""

    save: int  # which background save this was
    text: str
    edits: int  # the document's edit count when the text was taken
    error: Exception | None = None
    words: int | None = None  # counted by the save thread (a book takes a few ms)


class OpenDocument(QObject):
    saved = Signal()
    save_failed = Signal(str)
    conflict_kept_both = Signal(str)  # message for the user
    reloaded = Signal()
    path_changed = Signal()
    dirty_changed = Signal(bool)
    journal_failed = Signal()  # emitted from the journal thread; delivered on the GUI thread
    _background_save_done = Signal(object)  # _SaveOutcome, from the save thread
    _disk_looked = Signal(object, object)  # DocumentFile, its hash on disk (or None)

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
        # Background saves: one worker, at most one save in flight; a request while one is
        # in flight runs right after it (with the newest text).
        self._saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="save")
        # Started now: starting a thread on the first save held the GUI thread for up to
        # tens of milliseconds on a busy machine.
        self._saver.submit(lambda: None)
        self._save_in_flight: Future[_SaveOutcome] | None = None
        self._saves_started = 0
        self._save_again = False
        self._closed = False
        self._check_disk_after_save = False
        self._saved_text = ""
        self._saved_words: int | None = 0
        self._edits = 0
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
        self._background_save_done.connect(self._finish_background_save)
        self._disk_looked.connect(self._on_disk_looked)
        self.editor.document_edited.connect(self._count_edit)
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

    def saved_word_count(self) -> int:
        """Words in the text last saved (no copy of the editor's text: cheap after a save)."""
        if self._saved_words is None:
            self._saved_words = self.counter.count(self._saved_text)
        return self._saved_words

    # ----- typing ------------------------------------------------------------------------------
    def _count_edit(self) -> None:
        self._edits += 1

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
            self.save_in_background()

    def is_saving(self) -> bool:
        """A background save is writing the file right now."""
        return self._save_in_flight is not None

    def save_in_background(self) -> None:
        """Start a save and return to the event loop at once: ``saved`` or ``save_failed``
        (or ``conflict_kept_both``) follow on the GUI thread, exactly as after ``save``."""
        if self.read_only or self._closed:
            return
        self._stop_save_timers()
        if self._save_in_flight is not None:
            self._save_again = True
            return
        text = self.editor.text()
        file = self.file
        counter, library = self.counter, self.library
        in_library = library.contains(file.path)
        self._saves_started += 1
        number, edits = self._saves_started, self._edits
        # The periodic snapshot (a read and an fsynced write of the whole text) is taken by
        # the save thread too.
        snapshots = self.library.snapshots if self._snapshot_due() else None
        if snapshots is not None:
            self._last_snapshot = time.monotonic()

        def write() -> _SaveOutcome:
            error: Exception | None = None
            words: int | None = None
            try:
                file.save(text)
                if snapshots is not None:
                    try:
                        snapshots.take(file.path, text, "autosnapshot")
                    except OSError as exc:
                        logger.warning("Couldn't take a snapshot: %s", exc)
                # For the library's count after the save; its paragraph cache is warm from
                # the status bar's counts, so this is mostly dictionary look-ups.
                words = counter.count(text)
                if in_library and file.disk_hash is not None:
                    library.remember_word_count(file.path, file.disk_hash, words)
            except (ChangedOnDiskError, SaveError) as exc:
                error = exc
            except Exception as exc:  # never lose the outcome: report it in plain words
                logger.exception("Background save failed")
                error = SaveError(
                    file.path, f"“{file.path.name}” couldn't be saved ({exc}).", retryable=True
                )
            outcome = _SaveOutcome(number, text, edits, error, words)
            self._background_save_done.emit(outcome)
            return outcome

        self._save_in_flight = self._saver.submit(write)

    def wait_for_save(self) -> None:
        """Block until a background save in flight has written (closing, saving now)."""
        future = self._save_in_flight
        if future is None:
            return
        # The worker's queued signal may not be delivered yet: handle the outcome now (the
        # late delivery no longer matches the save in flight and is ignored).
        wanted_again, self._save_again = self._save_again, False
        self._finish_background_save(future.result())
        if wanted_again and self.is_dirty() and not self._closed:
            self.autosave_timer.start()  # the save asked for meanwhile still happens

    def _finish_background_save(self, outcome: _SaveOutcome) -> None:
        if self._save_in_flight is None or outcome.save != self._saves_started:
            return
        self._save_in_flight = None
        if isinstance(outcome.error, ChangedOnDiskError):
            self._keep_both(outcome.text)
        elif isinstance(outcome.error, SaveError):
            self._save_failed(outcome.error)
        elif outcome.error is None:
            # Edits typed while the file was being written keep the document dirty: the
            # autosave they started saves them next.
            # (the save thread took the snapshot if one was due)
            unchanged = outcome.edits == self._edits
            self._after_save(
                outcome.text, unchanged_since=unchanged, snapshot=False, words=outcome.words
            )
        if self._check_disk_after_save:
            self._check_disk_after_save = False
            self._check_disk_in_background()
        if self._save_again:
            self._save_again = False
            if self.is_dirty():
                self.save_in_background()

    def _stop_save_timers(self) -> None:
        self.autosave_timer.stop()
        self.autosave_deadline.stop()
        self.retry_timer.stop()

    def _save_failed(self, error: SaveError) -> None:
        self.last_error = str(error)
        self.write_journal(wait=True)
        self.save_failed.emit(str(error))
        if error.retryable:
            self.retry_timer.start()

    def save(self) -> bool:
        """Save now and wait for it; returns True when the text on disk equals the editor's."""
        if self.read_only:
            return False
        self.wait_for_save()
        self._stop_save_timers()
        text = self.editor.text()
        try:
            self.file.save(text)
        except ChangedOnDiskError:
            return self._keep_both(text)
        except SaveError as error:
            self._save_failed(error)
            return False
        self._after_save(text, unchanged_since=True)
        return True

    def _after_save(
        self, text: str, *, unchanged_since: bool, snapshot: bool = True, words: int | None = None
    ) -> None:
        self.last_error = ""
        self._saved_text = text
        self._saved_words = words
        if unchanged_since:
            self.editor.document().setModified(False)
            # The file holds the text now; the journal thread may still be writing an older
            # entry, so the entry goes after it there instead of the GUI thread waiting.
            self.journal.clear_in_background(self.path)
        if snapshot and self._snapshot_due():
            self._snapshot(text, "autosnapshot")
        self._watch()
        self.saved.emit()

    def _snapshot_due(self) -> bool:
        return (
            time.monotonic() - self._last_snapshot >= self.snapshot_minutes * 60
            and self.library.contains(self.path)
        )

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
        # Most often our own save; reading and hashing a book takes milliseconds, so the
        # save thread looks (after any save in flight) and the answer comes back here.
        self._check_disk_in_background()

    def _check_disk_in_background(self) -> None:
        if self._closed:
            return
        file = self.file

        def look() -> None:
            try:
                self._disk_looked.emit(file, file.current_disk_hash())
            except OSError as exc:  # unreadable: let check_disk say what it finds
                logger.warning("Couldn't read %s to compare it: %s", file.path, exc)
                self._disk_looked.emit(file, "")

        self._saver.submit(look)

    def _on_disk_looked(self, file: DocumentFile, disk_hash: str | None) -> None:
        if self._closed:
            return
        if self._save_in_flight is not None:
            self._check_disk_after_save = True  # a save started since: look after it
        elif file is self.file and disk_hash == file.disk_hash:
            self._watch()  # unchanged (our own write); keep watching the new file
        else:
            self.check_disk()

    def check_disk(self) -> None:
        """React to the file having changed on disk (called by the watcher and on focus)."""
        if self.read_only and not self.path.exists():
            return
        if self._save_in_flight is not None:
            # Most likely our own write; look again once it is done.
            self._check_disk_after_save = True
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
        self.wait_for_save()
        self.journal.clear(self.file.path)
        disk_hash = self.file.disk_hash
        self.file = DocumentFile(new_path)
        self.file.disk_hash = disk_hash
        self._watch()
        self.path_changed.emit()
        if self.is_dirty():
            self.write_journal(wait=True)

    def close(self) -> bool:
        """Finish a save in flight, save what is left and stop; returns False if the text
        could not be saved."""
        self.wait_for_save()
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
        self._closed = True
        self._saver.shutdown(wait=False)
        return ok
