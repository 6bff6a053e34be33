"""The open documents, one per tab: opening (or switching to) a document, its tab's name and
save state, Save / Save all, closing a tab, and which tabs were open last time.

Installed into the window like the other features (see ``window_seam.EditorWindow``). The window
wires its own views (counts, outline, look) to each document through ``opened``; library
operations (library_operations.py) name a new document after its text through ``saved`` and keep
open tabs on files they move (``follow_move``).
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QTabWidget

from desktop.library import RecoveryJournal
from desktop.library.daily_progress import DailyProgress
from desktop.ui.open_document import OpenDocument
from desktop.ui.sidebar import LibraryPane
from desktop.ui.window_seam import EditorWindow
from desktop.ui.writing_status import WritingStatus

logger = logging.getLogger(__name__)


class TabsWindow(EditorWindow, Protocol):
    """The seam plus the window's tab widget and what a document's state shows in."""

    tabs: QTabWidget
    journal: RecoveryJournal
    progress: DailyProgress
    library_pane: LibraryPane
    writing_status: WritingStatus

    def go_to_block(self, block_number: int) -> None: ...


class DocumentTabs(QObject):
    opened = Signal(object)  # OpenDocument, wired before its tab is shown
    saved = Signal(object)  # OpenDocument, just saved

    def __init__(self, window: TabsWindow) -> None:
        super().__init__(window.window())
        self.window = window
        window.tabs.tabCloseRequested.connect(self.close_tab)
        window.library_pane.open_requested.connect(self._open_from_sidebar)

    def register_save_actions(self) -> None:
        """Called by the window where these belong in the File menu."""
        window = self.window
        r = window.registry.register
        key = QKeySequence.StandardKey
        r(
            "file.save",
            "Save",
            self.save_current,
            shortcut=key.Save,
            menu="File",
            enabled=lambda: not window.read_only and window.current_document() is not None,
        )
        r(
            "file.save_all",
            "Save all",
            self.save_all,
            shortcut="Ctrl+Alt+S",
            menu="File",
            enabled=lambda: not window.read_only,
        )

    def register_close_action(self) -> None:
        self.window.registry.register(
            "file.close_tab",
            "Close tab",
            self.close_current_tab,
            shortcut=QKeySequence.StandardKey.Close,
            menu="File",
            enabled=lambda: self.window.current_document() is not None,
        )

    def register_cycle_actions(self) -> None:
        """Called by the window where these belong in the View menu."""
        r = self.window.registry.register
        r(
            "view.next_tab",
            "Next tab",
            lambda: self.cycle_tab(+1),
            shortcut=[QKeySequence("Ctrl+Tab"), QKeySequence("Ctrl+PgDown")],
            menu="View",
        )
        r(
            "view.previous_tab",
            "Previous tab",
            lambda: self.cycle_tab(-1),
            shortcut=[QKeySequence("Ctrl+Shift+Tab"), QKeySequence("Ctrl+PgUp")],
            menu="View",
        )

    # ----- opening -----------------------------------------------------------------------------
    def open_document(
        self, path: Path, *, cursor: int | None = None, line: int = 0
    ) -> OpenDocument | None:
        """Switch to ``path``'s tab, or open it in a new one."""
        window = self.window
        path = Path(path).resolve()
        for document in window.documents:
            if document.path.resolve() == path:
                window.tabs.setCurrentWidget(document.editor)
                self._jump(document, cursor, line)
                return document
        try:
            document = OpenDocument(
                path,
                window.library,
                window.journal,
                autosave_seconds=window.settings.get_float("autosave_seconds"),
                journal_seconds=window.settings.get_float("journal_seconds"),
                snapshot_minutes=window.settings.get_float("snapshot_minutes"),
                read_only=window.read_only,
            )
        except OSError as exc:
            window.prompter.error(
                "Couldn't open document", f"Couldn't open “{path.name}”: {exc.strerror or exc}."
            )
            return None
        self._wire(document)
        self.opened.emit(document)
        window.documents.append(document)
        index = window.tabs.addTab(document.editor, document.title)
        window.tabs.setCurrentIndex(index)
        self._jump(document, cursor, line)
        window.progress.update(self.library_key(document.path), document.word_count())
        document.editor.setFocus()
        window.settings.add_recent_document(document.path)
        self.save_settings_quietly()
        return document

    def _open_from_sidebar(self, path: Path, line: int) -> None:
        self.open_document(path, line=line)

    def _jump(self, document: OpenDocument, cursor: int | None, line: int) -> None:
        if cursor is not None:
            document.editor.set_cursor_position(cursor)
        elif line > 0:
            self.window.go_to_block(line - 1)

    def library_key(self, path: Path) -> Path:
        """How daily progress names a document: library-relative, else its full path."""
        library = self.window.library
        return library.relative(path) if library.contains(path) else path

    def save_settings_quietly(self) -> None:
        """For bookkeeping (recent documents): a failure is logged, not shown."""
        try:
            self.window.settings.save()
        except OSError as exc:
            logger.warning("Couldn't save the settings: %s", exc)

    # ----- a document's state in its tab and the status bar ----------------------------------
    def _wire(self, document: OpenDocument) -> None:
        document.dirty_changed.connect(lambda _dirty: self._update_tab(document))
        document.path_changed.connect(partial(self._update_tab, document))
        document.saved.connect(partial(self._on_saved, document))
        document.save_failed.connect(self._on_save_failed)
        document.conflict_kept_both.connect(self._on_conflict)
        document.reloaded.connect(
            lambda: self.window.statusBar().showMessage(
                "Reloaded: the file was changed by another program.", 8000
            )
        )

    def _update_tab(self, document: OpenDocument) -> None:
        tabs = self.window.tabs
        index = tabs.indexOf(document.editor)
        if index >= 0:
            marker = " •" if document.is_dirty() else ""
            tabs.setTabText(index, document.title + marker)
            outside = "" if self.window.library.contains(document.path) else "Outside the library: "
            tabs.setTabToolTip(index, outside + str(document.path))
        self.update_title()

    def update_title(self) -> None:
        document = self.window.current_document()
        name = f"{document.title} — " if document else ""
        suffix = " (read-only)" if self.window.read_only else ""
        self.window.window().setWindowTitle(f"{name}Draftsmith{suffix}")

    def _on_saved(self, document: OpenDocument) -> None:
        window = self.window
        window.writing_status.show_save_state("Saved")
        self.saved.emit(document)  # may rename it (a new document named after its first line)
        if window.library_pane.lists(document.path):
            window.library_pane.set_document_words(document.path, document.saved_word_count())
        elif window.library.contains(document.path):
            window.library_pane.refresh()
        window.progress.save_in_background()  # off the GUI thread (fsync)

    def _on_save_failed(self, message: str) -> None:
        self.window.writing_status.show_save_state("Not saved")
        self.window.statusBar().showMessage(message, 15000)
        self.window.prompter.error("Couldn't save", message)

    def _on_conflict(self, message: str) -> None:
        self.window.library_pane.refresh()
        self.window.prompter.info("Changed by another program", message)

    # ----- saving ------------------------------------------------------------------------------
    def save_current(self) -> None:
        """Ctrl+S: the write happens off the GUI thread; the status bar says when it is done
        (or the usual error appears)."""
        document = self.window.current_document()
        if document is not None:
            document.save_in_background()

    def save_all(self) -> None:
        for document in self.window.documents:
            if document.is_dirty():
                document.save_in_background()

    def save_under(self, target: Path) -> None:
        """Save the open documents at or inside ``target`` (before it is renamed or moved)."""
        for document in self.window.documents:
            if document.path == target or target in document.path.parents:
                document.save()

    def follow_move(self, old: Path, new: Path) -> None:
        """``old`` (a document or folder) is now ``new``: its open tabs, recent documents and
        daily progress follow."""
        window = self.window
        window.settings.rename_recent_document(old, new)
        self.save_settings_quietly()
        for document in window.documents:
            before = document.path
            if before == old:
                document.rebind(new)
            elif old in before.parents:
                document.rebind(new / before.relative_to(old))
            else:
                continue
            window.progress.rename(self.library_key(before), self.library_key(document.path))

    # ----- closing and switching ---------------------------------------------------------------
    def close_tab(self, index: int) -> bool:
        widget = self.window.tabs.widget(index)
        document = next((d for d in self.window.documents if d.editor is widget), None)
        if document is None:
            return False
        if not document.close() and not self.window.prompter.confirm(
            "Close without saving?",
            f"“{document.title}” couldn't be saved: {document.last_error} "
            "Its text stays in the recovery journal. Close anyway?",
        ):
            return False
        self.remove(document)
        return True

    def close_current_tab(self) -> None:
        if self.window.tabs.currentIndex() >= 0:
            self.close_tab(self.window.tabs.currentIndex())

    def remove(self, document: OpenDocument) -> None:
        """Close ``document`` and its tab without asking (it was saved, or is going away)."""
        document.close()
        index = self.window.tabs.indexOf(document.editor)
        if index >= 0:
            self.window.tabs.removeTab(index)
        self.window.documents.remove(document)
        document.editor.deleteLater()
        document.deleteLater()

    def cycle_tab(self, step: int) -> None:
        tabs = self.window.tabs
        count = tabs.count()
        if count:
            tabs.setCurrentIndex((tabs.currentIndex() + step) % count)

    # ----- the session: which tabs were open -------------------------------------------------
    def restore_session(self) -> None:
        window = self.window
        current = window.settings.get_str("current_document")
        for entry in window.settings.get_list("open_documents"):
            if not isinstance(entry, dict):
                continue
            path = Path(str(entry.get("path", "")))
            if path.is_file() and window.library.contains(path):  # not another library's files
                cursor = entry.get("cursor")
                document = self.open_document(
                    path, cursor=cursor if isinstance(cursor, int) else None
                )
                if document is not None and entry.get("auto_title") is True:
                    document.auto_title = True  # named from its text until the writer renames
        for document in window.documents:
            if str(document.path) == current:
                window.tabs.setCurrentWidget(document.editor)

    def remember_open_tabs(self) -> None:
        """Into the settings (the caller saves them): the open documents, in tab order."""
        window = self.window
        ordered = sorted(window.documents, key=lambda d: window.tabs.indexOf(d.editor))
        window.settings.set(
            "open_documents",
            [
                {
                    "path": str(d.path),
                    "cursor": d.editor.cursor_position(),
                    "auto_title": d.auto_title,
                }
                for d in ordered
            ],
        )
        current = window.current_document()
        window.settings.set("current_document", str(current.path) if current else "")
