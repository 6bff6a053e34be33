"""Session safety: nothing a writer typed is lost to a crash, a second window or a full disk.

Installed into the window like the other features (see ``window_seam.EditorWindow``). It owns the
library lock's heartbeat (another window taking the library over makes this one read-only), the
backup schedule, recovery from the journal after a crash, the crash handler's emergency save, and
the disk checks and autosaves when the app gains or loses focus.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from desktop import paths
from desktop.library import RecoveryJournal
from desktop.library.library_lock import HEARTBEAT_SECONDS, LibraryLock
from desktop.ui.backup_schedule import BackupSchedule
from desktop.ui.sidebar import LibraryPane
from desktop.ui.window_seam import EditorWindow


class SafetyWindow(EditorWindow, Protocol):
    """The seam plus what recovery and the lock need of the window."""

    journal: RecoveryJournal
    library_pane: LibraryPane

    def set_read_only(self, on: bool) -> None: ...


class SessionSafety(QObject):
    def __init__(self, window: SafetyWindow, lock: LibraryLock | None) -> None:
        super().__init__(window.window())
        self.window = window
        self.lock = lock
        self.heartbeat = QTimer(self, interval=HEARTBEAT_SECONDS * 1000)
        self.heartbeat.timeout.connect(self.refresh_lock)
        if lock is not None and not window.read_only:
            self.heartbeat.start()
        self.backups = BackupSchedule(window.library.root, paths.backups_dir(), self)
        if not window.read_only:
            self.backups.start()
        app = QApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._on_app_state)

    def recover_from_journal(self) -> int:
        """Offer text newer than disk after a crash; returns how many were restored."""
        window = self.window
        restored = 0
        for entry in window.journal.pending():
            if not window.prompter.ask_restore(entry):
                window.journal.clear(entry.document)
                continue
            path = entry.document
            if not path.exists():
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text("", encoding="utf-8")
                except OSError as exc:
                    window.prompter.error("Couldn't restore", f"{exc.strerror or exc}.")
                    continue
            document = window.open_document(path)
            if document is None:
                continue
            document.take_snapshot("before recovery")
            document.editor.replace_all_text_as_one_undo_step(entry.text)
            if entry.cursor is not None:
                document.editor.set_cursor_position(entry.cursor)
                document.editor.centerCursor()
            document.save()
            restored += 1
        if restored:
            window.library_pane.refresh()
        return restored

    def emergency_save(self) -> None:
        """Called by the crash handler: journal first (cheap, always works), then save."""
        for document in self.window.documents:
            document.write_journal(wait=True)
        for document in self.window.documents:
            document.save()

    def back_up_library(self) -> Future[Path | None]:
        """On close: only what changed since the last full backup, on the backup thread (see
        BackupSchedule); the app waits for it before the process exits."""
        return self.backups.finish()

    def check_all_disks(self) -> None:
        for document in list(self.window.documents):
            document.check_disk()

    def _on_app_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.check_all_disks()
        elif not self.window.read_only:
            for document in self.window.documents:
                document.autosave()

    def refresh_lock(self) -> None:
        """The heartbeat: keep the library lock fresh, or notice another window took it over."""
        if self.lock is None or self.window.read_only:
            return
        try:
            still_mine = self.lock.refresh()
        except OSError:
            return
        if not still_mine:
            self.window.set_read_only(True)
            self.window.prompter.info(
                "Library taken over",
                "Another Draftsmith window took over this library. This window "
                "is now read-only so the two don't overwrite each other.",
            )

    def stop_writing(self) -> None:
        """The window turned read-only: no more heartbeats or scheduled backups."""
        self.heartbeat.stop()
        self.backups.first.stop()
        self.backups.every.stop()

    def release_lock(self) -> None:
        if self.lock is not None and not self.window.read_only:
            self.lock.release()
