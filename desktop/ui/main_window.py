"""The main window: sidebar, tabs of open documents, find bar, status bar, menus built from
the action registry.

Features (AI, sync) see this window only through the ``EditorWindow`` Protocol
(desktop/ui/window_seam.py): the registry, ``current_editor()`` and ``current_editor_changed``,
``add_sidebar_pane``/``show_pane``, ``add_status_widget``, library, prompter, settings and
``change_setting``/``settings_changed``. What it lists is public here and checked by mypy.

The window keeps composition and the document operations (new, rename, move, trash, tabs);
appearance, spelling, session safety and open-file/recent/history/export are features it builds
(appearance_feature.py, spelling_feature.py, session_safety.py, document_actions.py). What tests
and other modules use of them (``theme``, ``spell``, ``lock``, ``backups``, ``zoom``,
``set_theme``, ``recover_from_journal``, ``emergency_save``, ``open_file``, ``recent_menu``,
``fill_recent_menu``, ``export_*``, ``restore_snapshot``) stays here as thin delegates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QPoint, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QMainWindow,
    QMenu,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import paths
from desktop.library import Library, LibraryError, RecoveryJournal
from desktop.library.daily_progress import DailyProgress
from desktop.library.document_title import free_title, title_from_text
from desktop.library.export import FORMATS
from desktop.library.library_lock import LibraryLock
from desktop.library.markdown_outline import headings
from desktop.library.spelling import SpellDictionary
from desktop.library.word_count import count_words
from desktop.settings import Settings
from desktop.ui.action_registry import ActionRegistry
from desktop.ui.appearance_feature import AppearanceFeature
from desktop.ui.backup_schedule import BackupSchedule
from desktop.ui.document_actions import DocumentActions
from desktop.ui.document_editor import DocumentEditor
from desktop.ui.find_bar import FindBar
from desktop.ui.open_document import OpenDocument
from desktop.ui.prompter import Prompter
from desktop.ui.session_safety import SessionSafety
from desktop.ui.sidebar import LibraryPane, OutlinePane, Sidebar
from desktop.ui.spelling_feature import SpellingFeature
from desktop.ui.themes import Theme
from desktop.ui.writing_status import WritingStatus

logger = logging.getLogger(__name__)

MENUS = ("File", "Edit", "View", "Settings", "Help")


class MainWindow(QMainWindow):
    current_editor_changed = Signal(object)  # DocumentEditor | None
    # A setting was changed (and saved) through the window; features re-read what they use.
    settings_changed = Signal(str)

    def __init__(
        self,
        library: Library,
        settings: Settings,
        *,
        journal: RecoveryJournal | None = None,
        lock: LibraryLock | None = None,
        read_only: bool = False,
        prompter: Prompter | None = None,
        load_spelling: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.library = library
        self.settings = settings
        self.journal = journal or RecoveryJournal(paths.journal_dir())
        self.read_only = read_only
        self.prompter = prompter or Prompter(self)
        self.progress = DailyProgress(paths.progress_path())
        self.documents: list[OpenDocument] = []
        self.focus_mode = False
        self.instance_server: QObject | None = None  # set by the app (desktop.ui.single_instance)
        self._menus: dict[str, QMenu] = {}

        self.registry = ActionRegistry(self)
        # hook(menu, editor): features adding to the editor's right-click menu.
        self.editor_context_menu_hooks: list[Callable[[QMenu, Any], None]] = []
        self.registry.action_added.connect(self._place_in_menu)
        for title in MENUS:
            self._menus[title] = self.menuBar().addMenu(title)

        self.library_pane = LibraryPane(library)
        self.outline = OutlinePane()
        self.sidebar = Sidebar(self.library_pane, self.outline)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("DocumentTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.find_bar = FindBar()
        self.find_bar.hide()
        editor_area = QWidget()
        column = QVBoxLayout(editor_area)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.tabs, 1)
        column.addWidget(self.find_bar)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(editor_area)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 900])
        self.setCentralWidget(self.splitter)
        self.writing_status = WritingStatus()
        self.statusBar().addPermanentWidget(self.writing_status)
        self.statusBar().setSizeGripEnabled(False)

        self.count_timer = QTimer(self, singleShot=True, interval=300)
        self.count_timer.timeout.connect(self.update_counts)
        self.outline_timer = QTimer(self, singleShot=True, interval=700)
        self.outline_timer.timeout.connect(self.update_outline)
        self.safety = SessionSafety(self, lock)

        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.library_pane.open_requested.connect(self._open_from_sidebar)
        self.library_pane.context_requested.connect(self._library_context_menu)
        self.library_pane.move_requested.connect(self.move_into)
        self.outline.heading_chosen.connect(self.go_to_block)

        self.appearance = AppearanceFeature(self)
        self.document_actions = DocumentActions(self)
        self.spelling = SpellingFeature(self, load=load_spelling)
        self._register_actions()
        self.appearance.apply_look()
        self._update_title()
        self.resize(1200, 780)
        geometry = settings.get_str("window_geometry")
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii")))

    # ===== seams =====
    @property
    def spell(self) -> SpellDictionary | None:
        """The loaded spelling dictionary (see SpellingFeature); None while off or loading."""
        return self.spelling.spell

    def current_document(self) -> OpenDocument | None:
        widget = self.tabs.currentWidget()
        return next((d for d in self.documents if d.editor is widget), None)

    def current_editor(self) -> DocumentEditor | None:
        document = self.current_document()
        return document.editor if document else None

    def add_sidebar_pane(self, pane_id: str, title: str, widget: QWidget) -> None:
        self.sidebar.add_pane(pane_id, title, widget)

    def add_status_widget(self, widget: QWidget, *, permanent: bool = True) -> None:
        if permanent:
            self.statusBar().insertPermanentWidget(0, widget)
        else:
            self.statusBar().addWidget(widget)

    def _place_in_menu(self, action_id: str) -> None:
        entry = self.registry.get(action_id)
        if entry is None or not entry.menu:
            return
        menu = self._menus.get(entry.menu)
        if menu is None:
            menu = QMenu(entry.menu, self)
            self.menuBar().insertMenu(self._menus["Settings"].menuAction(), menu)
            self._menus[entry.menu] = menu
        menu.addAction(entry.action)

    def menu(self, title: str) -> QMenu:
        return self._menus[title]

    # ===== actions =====
    def _register_actions(self) -> None:
        r = self.registry.register

        def has_doc() -> bool:
            return self.current_document() is not None

        def writable() -> bool:
            return not self.read_only

        def writable_doc() -> bool:
            return not self.read_only and self.current_document() is not None

        def writable_library_doc() -> bool:  # rename, move, trash: library only
            document = self.current_document()
            return writable_doc() and document is not None and self.library.contains(document.path)

        key = QKeySequence.StandardKey
        r(
            "file.new",
            "New document",
            self.new_document,
            shortcut=key.New,
            menu="File",
            enabled=writable,
        )
        r("file.new_folder", "New folder…", self.new_folder, menu="File", enabled=writable)
        r(
            "file.open",
            "Open from library…",
            self.focus_library_search,
            shortcut=key.Open,
            menu="File",
        )
        self.document_actions.register_open_actions()  # open file, recent documents
        r(
            "file.save",
            "Save",
            self.save_current,
            shortcut=key.Save,
            menu="File",
            enabled=writable_doc,
        )
        r(
            "file.save_all",
            "Save all",
            self.save_all,
            shortcut="Ctrl+Alt+S",
            menu="File",
            enabled=writable,
        )
        r(
            "file.rename",
            "Rename document…",
            lambda: self.rename_path(None),
            shortcut="F2",
            menu="File",
            enabled=writable_library_doc,
        )
        r(
            "file.move",
            "Move document…",
            lambda: self.move_path(None),
            menu="File",
            enabled=writable_library_doc,
        )
        r(
            "file.delete",
            "Move document to trash",
            lambda: self.delete_path(None),
            menu="File",
            enabled=writable_library_doc,
        )
        self.document_actions.register_actions()  # history, export
        r(
            "file.close_tab",
            "Close tab",
            self.close_current_tab,
            shortcut=key.Close,
            menu="File",
            enabled=has_doc,
        )
        r("file.quit", "Quit", self.close, shortcut=key.Quit, menu="File")

        r(
            "edit.undo",
            "Undo",
            lambda: self._on_editor("undo"),
            shortcut=key.Undo,
            menu="Edit",
            enabled=has_doc,
        )
        r(
            "edit.redo",
            "Redo",
            lambda: self._on_editor("redo"),
            shortcut=key.Redo,
            menu="Edit",
            enabled=has_doc,
        )
        r(
            "edit.find",
            "Find…",
            lambda: self.open_find(replace=False),
            shortcut=key.Find,
            menu="Edit",
            enabled=has_doc,
        )
        r(
            "edit.replace",
            "Replace…",
            lambda: self.open_find(replace=True),
            shortcut="Ctrl+H",
            menu="Edit",
            enabled=writable_doc,
        )
        r(
            "edit.find_next",
            "Find next",
            self.find_bar.find_next,
            shortcut=key.FindNext,
            menu="Edit",
            enabled=has_doc,
        )
        r(
            "edit.find_previous",
            "Find previous",
            self.find_bar.find_previous,
            shortcut=key.FindPrevious,
            menu="Edit",
            enabled=has_doc,
        )
        r(
            "edit.go_to_heading",
            "Go to heading…",
            self.go_to_heading,
            shortcut="Ctrl+Shift+O",
            menu="Edit",
            enabled=has_doc,
        )
        r(
            "edit.palette",
            "Command palette…",
            self.show_palette,
            shortcut="Ctrl+Shift+P",
            menu="Edit",
        )

        r(
            "view.focus",
            "Focus mode",
            self.toggle_focus_mode,
            shortcut="F11",
            menu="View",
            checkable=True,
        )
        leave = r(
            "view.leave_focus",
            "Leave focus mode",
            self.leave_focus_mode,
            shortcut="Esc",
            enabled=lambda: self.focus_mode,
        )
        leave.setEnabled(False)  # only while in focus mode, so Esc stays free elsewhere
        r(
            "view.sidebar",
            "Show sidebar",
            self.toggle_sidebar,
            shortcut="Ctrl+\\",
            menu="View",
            checkable=True,
            checked=True,
        )
        self.appearance.register_zoom_actions()
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
        r(
            "view.library",
            "Show library",
            lambda: self.show_pane("library"),
            shortcut="Ctrl+Shift+L",
            menu="View",
        )
        r(
            "view.outline",
            "Show outline",
            lambda: self.show_pane("outline"),
            shortcut="Ctrl+Shift+E",
            menu="View",
        )
        self.appearance.register_theme_actions()

        r(
            "settings.open",
            "Settings…",
            lambda: self.show_settings(),
            shortcut="Ctrl+,",
            menu="Settings",
        )
        r("settings.goal", "Daily word goal…", self.ask_goal, menu="Settings")
        # Shortcuts into the Settings dialog's pages.
        r("settings.font", "Font…", lambda: self.show_settings("editor"), menu="Settings")
        r(
            "settings.line_spacing",
            "Line spacing…",
            lambda: self.show_settings("editor"),
            menu="Settings",
        )
        self.appearance.register_smart_typography_action()
        self.spelling.register_actions()  # "settings.spell"
        r(
            "settings.language",
            "Spelling language for this library…",
            lambda: self.show_settings("editor"),
            menu="Settings",
        )
        r("settings.library", "Change library folder…", self.change_library, menu="Settings")
        # Sync: the sync feature registers "sync.*" actions with menu="Settings".

        r("help.license", "License…", self.show_license, menu="Help")
        r(
            "help.shortcuts",
            "Keyboard shortcuts",
            self.show_shortcuts,
            shortcut="Ctrl+/",
            menu="Help",
        )
        r("help.about", "About Draftsmith", self.show_about, menu="Help")
        for menu in self._menus.values():
            menu.aboutToShow.connect(self.registry.refresh_enabled)

    def _on_editor(self, method: str) -> None:
        editor = self.current_editor()
        if editor is not None:
            getattr(editor, method)()

    def show_pane(self, pane_id: str) -> None:
        """Show the sidebar (if hidden) on ``pane_id`` (a seam: features call it)."""
        if not self.sidebar.isVisible():
            self.registry.action("view.sidebar").setChecked(True)
        self.sidebar.show_pane(pane_id)

    # ===== documents =====
    def open_document(
        self, path: Path, *, cursor: int | None = None, line: int = 0
    ) -> OpenDocument | None:
        path = Path(path).resolve()
        for document in self.documents:
            if document.path.resolve() == path:
                self.tabs.setCurrentWidget(document.editor)
                self._jump(document, cursor, line)
                return document
        try:
            document = OpenDocument(
                path,
                self.library,
                self.journal,
                autosave_seconds=self.settings.get_float("autosave_seconds"),
                journal_seconds=self.settings.get_float("journal_seconds"),
                snapshot_minutes=self.settings.get_float("snapshot_minutes"),
                read_only=self.read_only,
            )
        except OSError as exc:
            self.prompter.error(
                "Couldn't open document", f"Couldn't open “{path.name}”: {exc.strerror or exc}."
            )
            return None
        self._wire(document)
        self.documents.append(document)
        index = self.tabs.addTab(document.editor, document.title)
        self.tabs.setCurrentIndex(index)
        self._jump(document, cursor, line)
        words = document.word_count()
        self.progress.update(self.library_key(document.path), words)
        document.editor.setFocus()
        self._remember_recent(document.path)
        return document

    # ===== recent documents, files from outside the library =====
    def _remember_recent(self, path: Path) -> None:
        self.settings.add_recent_document(path)
        self._save_settings_quietly()

    def _save_settings_quietly(self) -> None:
        """For bookkeeping (recent documents): a failure is logged, not shown."""
        try:
            self.settings.save()
        except OSError as exc:
            logger.warning("Couldn't save the settings: %s", exc)

    @property
    def recent_menu(self) -> QMenu:
        return self.document_actions.recent_menu

    def fill_recent_menu(self) -> None:
        self.document_actions.fill_recent_menu()

    def open_file(self, path: Path | None) -> OpenDocument | None:
        """See ``DocumentActions.open_file``."""
        return self.document_actions.open_file(path)

    def library_key(self, path: Path) -> Path:
        return self.library.relative(path) if self.library.contains(path) else path

    def _jump(self, document: OpenDocument, cursor: int | None, line: int) -> None:
        if cursor is not None:
            document.editor.set_cursor_position(cursor)
        elif line > 0:
            self.go_to_block(line - 1)

    def _wire(self, document: OpenDocument) -> None:
        editor = document.editor
        self.appearance.style_editor(editor)
        editor.highlighter.spell = self.spell
        editor.document_edited.connect(self.count_timer.start)
        editor.ai_text_inserted.connect(partial(self._on_ai_text, document))
        editor.document_edited.connect(self.outline_timer.start)
        editor.document_edited.connect(lambda: self.writing_status.show_save_state("Edited"))
        editor.cursor_moved.connect(lambda _pos: self.count_timer.start())
        editor.selectionChanged.connect(self.count_timer.start)
        document.dirty_changed.connect(lambda _dirty: self._update_tab(document))
        document.path_changed.connect(partial(self._on_path_changed, document))
        document.saved.connect(partial(self._on_saved, document))
        document.save_failed.connect(self._on_save_failed)
        document.conflict_kept_both.connect(self._on_conflict)
        document.reloaded.connect(
            lambda: self.statusBar().showMessage(
                "Reloaded: the file was changed by another program.", 8000
            )
        )

    def _on_ai_text(self, document: OpenDocument, text: str) -> None:
        self.progress.add_ai_words(self.library_key(document.path), count_words(text))
        self.update_counts()

    def _update_tab(self, document: OpenDocument) -> None:
        index = self.tabs.indexOf(document.editor)
        if index >= 0:
            marker = " •" if document.is_dirty() else ""
            self.tabs.setTabText(index, document.title + marker)
            outside = "" if self.library.contains(document.path) else "Outside the library: "
            self.tabs.setTabToolTip(index, outside + str(document.path))
        self._update_title()

    def _update_title(self) -> None:
        document = self.current_document()
        name = f"{document.title} — " if document else ""
        suffix = " (read-only)" if self.read_only else ""
        self.setWindowTitle(f"{name}Draftsmith{suffix}")

    def _on_tab_changed(self, _index: int) -> None:
        self._update_title()
        self.update_counts()
        self.update_outline()
        editor = self.current_editor()
        if self.find_bar.isVisible():
            self.find_bar.set_editor(editor)
        if editor is not None and self.focus_mode:
            editor.set_focus_mode(True)
        self.current_editor_changed.emit(editor)

    def _on_saved(self, document: OpenDocument) -> None:
        self.writing_status.show_save_state("Saved")
        if document.auto_title:
            self.name_from_text(document)
        if self.library_pane.item_for(document.path) is not None:
            self.library_pane.set_document_words(document.path, document.saved_word_count())
        elif self.library.contains(document.path):
            self.library_pane.refresh()
        self.progress.save_in_background()  # off the GUI thread (fsync)

    def name_from_text(self, document: OpenDocument) -> Path | None:
        """A new document takes its name from its first heading or line (until renamed)."""
        title = title_from_text(document.editor.text())
        if self.read_only or not title or title == document.title:
            return None
        old = document.path
        title = free_title(old.parent, title, old.suffix, keep=old)
        if title == document.title:
            return None
        try:
            new_path = self.library.rename(old, title)
        except (OSError, LibraryError) as exc:
            logger.info("Couldn't name the new document after its first line: %s", exc)
            return None
        self._rebind_documents(old, new_path)
        self.library_pane.refresh()
        return new_path

    def _on_save_failed(self, message: str) -> None:
        self.writing_status.show_save_state("Not saved")
        self.statusBar().showMessage(message, 15000)
        self.prompter.error("Couldn't save", message)

    def _on_conflict(self, message: str) -> None:
        self.library_pane.refresh()
        self.prompter.info("Changed by another program", message)

    def _on_path_changed(self, document: OpenDocument) -> None:
        self._update_tab(document)

    def _open_from_sidebar(self, path: Path, line: int) -> None:
        self.open_document(path, line=line)

    def _library_context_menu(self, path: Path | None, global_pos: QPoint) -> None:
        menu = QMenu(self)
        folder = (
            path
            if path is not None and path.is_dir()
            else (path.parent if path is not None else self.library.root)
        )
        writable = not self.read_only
        menu.addAction("New document", lambda: self.new_document(folder)).setEnabled(writable)
        menu.addAction("New folder…", lambda: self.new_folder(folder)).setEnabled(writable)
        if path is not None:
            menu.addSeparator()
            menu.addAction("Rename…", lambda: self.rename_path(path)).setEnabled(writable)
            menu.addAction("Move to…", lambda: self.move_path(path)).setEnabled(writable)
            menu.addAction("Move to trash", lambda: self.delete_path(path)).setEnabled(writable)
            if path.is_dir():
                menu.addSeparator()
                for fmt, label in FORMATS.items():
                    menu.addAction(
                        f"Export folder as {label}…", partial(self.export_folder, fmt, path)
                    )
        menu.exec(global_pos)

    def new_document(self, folder: Path | None = None) -> OpenDocument | None:
        """Untitled documents are real files from the first moment, so they autosave too."""
        if self.read_only:
            return None
        try:
            path = self.library.create_document(folder, "Untitled")
        except (OSError, LibraryError) as exc:
            self.prompter.error("Couldn't create a document", self._os_words(exc))
            return None
        self.library_pane.refresh()
        return self.open_document(path)

    def new_folder(self, parent: Path | None = None) -> Path | None:
        name = self.prompter.ask_text("New folder", "Folder name:", "New folder")
        if not name:
            return None
        try:
            folder = self.library.create_folder(parent, name)
        except (OSError, LibraryError) as exc:
            self.prompter.error("Couldn't create the folder", self._os_words(exc))
            return None
        self.library_pane.refresh()
        return folder

    @staticmethod
    def _os_words(exc: Exception) -> str:
        if isinstance(exc, OSError):
            return f"{exc.strerror or exc}."
        return str(exc)

    def save_current(self) -> None:
        """Ctrl+S: the write happens off the GUI thread; the status bar says when it is done
        (or the usual error appears)."""
        document = self.current_document()
        if document is not None:
            document.save_in_background()

    def save_all(self) -> None:
        for document in self.documents:
            if document.is_dirty():
                document.save_in_background()

    def _target(self, path: Path | None) -> Path | None:
        if path is not None:
            return path
        document = self.current_document()
        return document.path if document else None

    def rename_path(self, path: Path | None) -> Path | None:
        target = self._target(path)
        if target is None or not self.library.contains(target):
            return None
        title = target.name if target.is_dir() else target.stem
        opened = next((d for d in self.documents if d.path == target), None)
        suggestion = ""
        if opened is not None and opened.auto_title:
            suggestion = title_from_text(opened.editor.text())
        new_title = self.prompter.ask_text("Rename", "New name:", suggestion or title)
        if not new_title:
            return None
        if opened is not None:
            opened.auto_title = False  # the writer chose: no more automatic names
        if new_title == title:
            return None
        self._save_documents_under(target)
        try:
            new_path = self.library.rename(target, new_title)
        except (OSError, LibraryError) as exc:
            self.prompter.error("Couldn't rename", self._os_words(exc))
            return None
        self._rebind_documents(target, new_path)
        self.library_pane.refresh()
        return new_path

    def move_path(self, path: Path | None) -> Path | None:
        target = self._target(path)
        if target is None:
            return None
        folders = [p for p in self.library.folders() if p != target and target not in p.parents]
        labels = ["Library (top level)"] + [
            str(p.relative_to(self.library.root)) for p in folders[1:]
        ]
        choice = self.prompter.choose("Move", f"Move “{target.name}” to:", labels)
        if choice is None:
            return None
        return self.move_into(target, folders[choice])

    def move_into(self, target: Path, folder: Path) -> Path | None:
        """Move a document or folder (menu or drag and drop in the sidebar)."""
        if self.read_only or target.parent == folder:
            return None
        self._save_documents_under(target)
        try:
            new_path = self.library.move(target, folder)
        except (OSError, LibraryError) as exc:
            self.prompter.error("Couldn't move", self._os_words(exc))
            return None
        self._rebind_documents(target, new_path)
        self.library_pane.refresh()
        return new_path

    def _save_documents_under(self, target: Path) -> None:
        for document in self.documents:
            if document.path == target or target in document.path.parents:
                document.save()

    def _rebind_documents(self, old: Path, new: Path) -> None:
        self.settings.rename_recent_document(old, new)
        self._save_settings_quietly()
        for document in self.documents:
            before = document.path
            if before == old:
                document.rebind(new)
            elif old in before.parents:
                document.rebind(new / before.relative_to(old))
            else:
                continue
            self.progress.rename(self.library_key(before), self.library_key(document.path))

    def delete_path(self, path: Path | None) -> bool:
        target = self._target(path)
        if target is None:
            return False
        kind = "folder" if target.is_dir() else "document"
        if not self.prompter.confirm(
            "Move to trash", f"Move the {kind} “{target.name}” to the trash?"
        ):
            return False
        for document in list(self.documents):
            if document.path == target or target in document.path.parents:
                document.save()
                self._remove_document(document)
        try:
            self.library.delete(target)
        except (OSError, LibraryError) as exc:
            self.prompter.error("Couldn't move to trash", self._os_words(exc))
            return False
        self.library_pane.refresh()
        return True

    def close_tab(self, index: int) -> bool:
        widget = self.tabs.widget(index)
        document = next((d for d in self.documents if d.editor is widget), None)
        if document is None:
            return False
        if not document.close() and not self.prompter.confirm(
            "Close without saving?",
            f"“{document.title}” couldn't be saved: {document.last_error} "
            "Its text stays in the recovery journal. Close anyway?",
        ):
            return False
        self._remove_document(document)
        return True

    def close_current_tab(self) -> None:
        if self.tabs.currentIndex() >= 0:
            self.close_tab(self.tabs.currentIndex())

    def _remove_document(self, document: OpenDocument) -> None:
        document.close()
        index = self.tabs.indexOf(document.editor)
        if index >= 0:
            self.tabs.removeTab(index)
        self.documents.remove(document)
        document.editor.deleteLater()
        document.deleteLater()

    def cycle_tab(self, step: int) -> None:
        count = self.tabs.count()
        if count:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % count)

    def focus_library_search(self) -> None:
        self.show_pane("library")
        self.library_pane.search.setFocus()
        self.library_pane.search.selectAll()

    # ===== counts, outline, goals =====
    def update_counts(self) -> None:
        document = self.current_document()
        if document is None:
            self.writing_status.show_counts(0, None)
        else:
            words, cjk = document.counter.count_with_cjk(document.editor.text())
            selected = document.editor.selected_text()
            # Paragraph-cached counting: selecting all of a 200k-word book stays cheap.
            self.writing_status.show_counts(
                words, document.counter.count(selected) if selected else None, cjk
            )
            self.progress.update(self.library_key(document.path), words)
        self.writing_status.show_goal(
            self.progress.words_written_today(),
            self.settings.daily_word_goal(),
            self.progress.ai_words_today(),
        )

    def update_outline(self) -> None:
        editor = self.current_editor()
        self.outline.set_headings(headings(editor.text()) if editor else [])

    def go_to_block(self, block_number: int) -> None:
        editor = self.current_editor()
        if editor is None:
            return
        block = editor.document().findBlockByNumber(block_number)
        if block.isValid():
            editor.set_cursor_position(block.position())
            editor.centerCursor()
            editor.setFocus()

    def go_to_heading(self) -> None:
        editor = self.current_editor()
        if editor is None:
            return
        found = headings(editor.text())
        if not found:
            self.statusBar().showMessage("This document has no headings.", 4000)
            return
        choice = self.prompter.choose(
            "Go to heading", "Heading:", ["  " * (h.level - 1) + h.title for h in found]
        )
        if choice is not None:
            self.go_to_block(found[choice].line)

    def ask_goal(self) -> None:
        text = self.prompter.ask_text(
            "Daily word goal", "Words per day (0 for none):", str(self.settings.daily_word_goal())
        )
        if text is None:
            return
        try:
            goal = max(0, int(text.replace(",", "").strip()))
        except ValueError:
            self.prompter.error("Daily word goal", f"“{text}” isn't a number of words.")
            return
        self._set("daily_word_goal", goal)
        self.update_counts()

    # ===== find, palette, history =====
    def open_find(self, *, replace: bool) -> None:
        editor = self.current_editor()
        if editor is not None:
            self.find_bar.open(editor, replace=replace and not self.read_only)

    def show_palette(self) -> None:
        from desktop.ui.command_palette import CommandPalette

        palette = CommandPalette(self.registry, self)
        geometry = self.geometry()
        palette.move(geometry.x() + (geometry.width() - palette.width()) // 2, geometry.y() + 80)
        self._palette = palette
        palette.show()
        palette.input.setFocus()

    # ===== history and export (DocumentActions) =====
    def restore_snapshot(self, document: OpenDocument, text: str) -> None:
        self.document_actions.restore_snapshot(document, text)

    def export_current(self, fmt: str, destination: Path | None = None) -> Path | None:
        return self.document_actions.export_current(fmt, destination)

    def export_folder(
        self, fmt: str, folder: Path | None = None, destination: Path | None = None
    ) -> Path | None:
        return self.document_actions.export_folder(fmt, folder, destination)

    def _set(self, key: str, value: object) -> None:
        self.settings.set(key, value)
        try:
            self.settings.save()
        except OSError as exc:
            self.statusBar().showMessage(f"Couldn't save settings: {exc.strerror or exc}", 8000)
        self.settings_changed.emit(key)

    def change_setting(self, key: str, value: object) -> None:
        """Persist one setting and apply it at once (the Settings dialog's one entry point)."""
        self._set(key, value)  # features follow through settings_changed
        if key == "daily_word_goal":
            self.update_counts()

    def show_settings(self, page: str = "editor") -> None:
        from desktop.ui.settings_dialog import SettingsDialog

        dialog = getattr(self, "settings_dialog", None)
        if not isinstance(dialog, SettingsDialog):
            dialog = self.settings_dialog = SettingsDialog(self)
        dialog.show_page(page)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    # ===== look (AppearanceFeature) =====
    @property
    def theme(self) -> Theme:
        return self.appearance.theme

    def set_theme(self, name: str) -> None:
        self.appearance.set_theme(name)

    def zoom(self, step: int) -> None:
        self.appearance.zoom(step)

    def toggle_sidebar(self) -> None:
        self.sidebar.setVisible(self.registry.action("view.sidebar").isChecked())

    def toggle_focus_mode(self) -> None:
        on = self.registry.action("view.focus").isChecked()
        self.focus_mode = on
        self.menuBar().setVisible(not on)
        self.statusBar().setVisible(not on)
        self.sidebar.setVisible(not on and self.registry.action("view.sidebar").isChecked())
        self.tabs.tabBar().setVisible(not on)
        if on:
            self.showFullScreen()
        else:
            self.showNormal()
        for document in self.documents:
            document.editor.set_focus_mode(on)
        self.registry.action("view.leave_focus").setEnabled(on)

    def leave_focus_mode(self) -> None:
        if self.focus_mode:
            self.registry.action("view.focus").setChecked(False)

    def set_spelling_language(self, code: str) -> bool:
        """For the Settings dialog (``SettingsWindow``): see ``SpellingFeature.set_language``."""
        return self.spelling.set_language(code)

    def change_library(self) -> None:
        folder = self.prompter.ask_folder("Choose the library folder", self.library.root)
        if folder is None:
            return
        self._set("library_path", str(folder))
        self.prompter.info(
            "Library folder", f"Draftsmith will open “{folder}” the next time it starts."
        )

    # ===== help =====
    def show_license(self) -> None:
        from desktop.ui.license_dialog import LicenseDialog  # loaded on first use

        dialog = LicenseDialog(parent=self)
        dialog.exec()

    def show_about(self) -> None:
        from desktop.ui.about_dialog import AboutDialog, gather_facts

        self.about_dialog = AboutDialog(gather_facts(self.settings, self.library.root), self)
        self.about_dialog.show()

    def show_shortcuts(self) -> None:
        from desktop.ui.shortcuts_dialog import ShortcutsDialog

        self.shortcuts_dialog = ShortcutsDialog(self.registry, self)
        self.shortcuts_dialog.show()

    # ===== safety (SessionSafety) =====
    @property
    def lock(self) -> LibraryLock | None:
        return self.safety.lock

    @property
    def backups(self) -> BackupSchedule:
        return self.safety.backups

    def recover_from_journal(self) -> int:
        """Offer text newer than disk after a crash; returns how many were restored."""
        return self.safety.recover_from_journal()

    def emergency_save(self) -> None:
        """Called by the crash handler (desktop.ui.crash_handler)."""
        self.safety.emergency_save()

    def _heartbeat(self) -> None:
        self.safety.refresh_lock()

    def bring_to_front(self) -> None:
        """Another launch of Draftsmith on this library asked for this window."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def set_read_only(self, on: bool) -> None:
        self.read_only = on
        for document in self.documents:
            document.read_only = on
            document.editor.setReadOnly(on)
        self.safety.heartbeat.stop()
        if on:
            self.safety.stop_writing()
        self._update_title()

    # ===== session =====
    def restore_session(self) -> None:
        current = self.settings.get_str("current_document")
        for entry in self.settings.get_list("open_documents"):
            if not isinstance(entry, dict):
                continue
            path = Path(str(entry.get("path", "")))
            if path.is_file() and self.library.contains(path):  # not another library's files
                cursor = entry.get("cursor")
                document = self.open_document(
                    path, cursor=cursor if isinstance(cursor, int) else None
                )
                if document is not None and entry.get("auto_title") is True:
                    document.auto_title = True  # named from its text until the writer renames
        for document in self.documents:
            if str(document.path) == current:
                self.tabs.setCurrentWidget(document.editor)

    def save_session(self) -> None:
        ordered = sorted(self.documents, key=lambda d: self.tabs.indexOf(d.editor))
        self.settings.set(
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
        current = self.current_document()
        self.settings.set("current_document", str(current.path) if current else "")
        if not self.focus_mode:
            self.settings.set(
                "window_geometry", bytes(self.saveGeometry().toBase64().data()).decode("ascii")
            )
        try:
            self.settings.save()
        except OSError as exc:
            logger.warning("Couldn't save the session: %s", exc)

    def closeEvent(self, event: QCloseEvent) -> None:
        unsaved = [d for d in self.documents if not d.read_only and d.is_dirty() and not d.save()]
        if unsaved:
            names = ", ".join(f"“{d.title}”" for d in unsaved)
            if not self.prompter.confirm(
                "Quit without saving?",
                f"{names} couldn't be saved. The text stays in the recovery journal and "
                "will be offered next time. Quit anyway?",
            ):
                event.ignore()
                return
        self.save_session()
        self.progress.save()
        self.library_pane.word_counts.stop()
        if not self.read_only:
            self.safety.back_up_library()
        for document in self.documents:
            document.close()
        self.safety.heartbeat.stop()
        if self.instance_server is not None:
            self.instance_server.deleteLater()
            self.instance_server = None
        self.safety.release_lock()
        event.accept()
