"""The main window: sidebar, tabs of open documents, find bar, status bar, menus built from
the action registry.

Features (AI, sync) see this window only through the ``EditorWindow`` Protocol
(desktop/ui/window_seam.py): the registry, ``current_editor()`` and ``current_editor_changed``,
``add_sidebar_pane``/``show_pane``, ``add_status_widget``, library, prompter, settings and
``change_setting``/``settings_changed``. What it lists is public here and checked by mypy.

The window keeps composition: the views (counts, outline, find bar, focus mode), the menus and
settings. The rest are features it builds: the open documents as tabs (document_tabs.py), new /
rename / move / trash in the library (library_operations.py), appearance, spelling, session
safety and open-file/recent/history/export (appearance_feature.py, spelling_feature.py,
session_safety.py, document_actions.py). What tests and other modules use of them
(``open_document``, ``new_document``, ``rename_path``, ``close_tab``, ``theme``, ``spell``,
``lock``, ``backups``, ``recover_from_journal``, ``emergency_save``, ``open_file``, ``export_*``
and the like) stays here as thin delegates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QObject, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QMainWindow,
    QMenu,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import paths
from desktop.library import Library, RecoveryJournal
from desktop.library.daily_progress import DailyProgress
from desktop.library.library_lock import LibraryLock
from desktop.library.markdown_outline import headings
from desktop.library.spelling import SpellDictionary
from desktop.library.word_count import count_words
from desktop.settings import Settings
from desktop.ui.action_registry import SUBMENU_SEPARATOR, ActionRegistry, menu_section
from desktop.ui.appearance_feature import AppearanceFeature
from desktop.ui.backup_schedule import BackupSchedule
from desktop.ui.document_actions import DocumentActions
from desktop.ui.document_editor import DocumentEditor
from desktop.ui.document_tabs import DocumentTabs
from desktop.ui.find_bar import FindBar
from desktop.ui.library_operations import LibraryOperations
from desktop.ui.open_document import OpenDocument
from desktop.ui.prompter import Prompter
from desktop.ui.session_safety import SessionSafety
from desktop.ui.sidebar import LibraryPane, OutlinePane, Sidebar
from desktop.ui.spelling_feature import SpellingFeature
from desktop.ui.themes import Theme
from desktop.ui.window_activation import present
from desktop.ui.writing_status import WritingStatus

if TYPE_CHECKING:  # imported on first use (or, for AI and sync, after start-up): they are slow
    from desktop.ui.ai_feature import AIFeature
    from desktop.ui.settings_dialog import SettingsDialog
    from desktop.ui.sync_menu import SyncFeature

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
        # Installed by the app once their modules are imported (None until then, or if this
        # build has no AI help / sync).
        self.ai: AIFeature | None = None
        self.sync: SyncFeature | None = None
        self.settings_dialog: SettingsDialog | None = None  # made on first use, then reused
        self._menus: dict[str, QMenu] = {}
        self._menu_sections: dict[str, str] = {}  # menu title -> section of its last action

        self.registry = ActionRegistry(self)
        # hook(menu, editor): features adding to the editor's right-click menu.
        self.editor_context_menu_hooks: list[Callable[[QMenu, DocumentEditor], None]] = []
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
        self.outline.heading_chosen.connect(self.go_to_block)

        self.document_tabs = DocumentTabs(self)
        self.document_tabs.opened.connect(self._watch)
        self.library_operations = LibraryOperations(self, self.document_tabs)
        self.appearance = AppearanceFeature(self)
        self.document_actions = DocumentActions(self)
        self.spelling = SpellingFeature(self, load=load_spelling)
        self._register_actions()
        self.appearance.apply_look()
        self.document_tabs.update_title()
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

    def when_library_listed(self, callback: Callable[[], None]) -> None:
        self.library_pane.when_filled(callback)

    def add_status_widget(self, widget: QWidget, *, permanent: bool = True) -> None:
        if permanent:
            self.statusBar().insertPermanentWidget(0, widget)
        else:
            self.statusBar().addWidget(widget)

    def _place_in_menu(self, action_id: str) -> None:
        entry = self.registry.get(action_id)
        if entry is None or not entry.menu:
            return
        self._add_to_menu(entry.menu, entry.action, menu_section(action_id))

    def _add_to_menu(self, path: str, action: QAction, section: str) -> None:
        """Put ``action`` at the end of the menu ``path`` ("Settings › Sync" is a submenu),
        after a separator when it starts a new section; missing menus are made on the way."""
        menu = self._menus.get(path)
        if menu is None:
            parent, _, title = path.rpartition(SUBMENU_SEPARATOR)
            menu = QMenu(title, self)
            if parent:
                self._add_to_menu(parent, menu.menuAction(), section)
            else:
                self.menuBar().insertMenu(self._menus["Settings"].menuAction(), menu)
            self._menus[path] = menu
        if self._menu_sections.setdefault(path, section) != section:
            menu.addSeparator()
            self._menu_sections[path] = section
        menu.addAction(action)

    def menu(self, path: str) -> QMenu:
        """A menu by its title, or a submenu by its path ("Settings › Sync")."""
        return self._menus[path]

    # ===== actions =====
    def _register_actions(self) -> None:
        r = self.registry.register

        def has_doc() -> bool:
            return self.current_document() is not None

        def writable_doc() -> bool:
            return not self.read_only and self.current_document() is not None

        key = QKeySequence.StandardKey
        self.library_operations.register_new_actions()  # new document, new folder
        r(
            "file.open",
            "Open from library…",
            self.focus_library_search,
            shortcut=key.Open,
            menu="File",
        )
        self.document_actions.register_open_actions()  # open file, recent documents
        self.document_tabs.register_save_actions()  # save, save all
        self.library_operations.register_actions()  # rename, move, trash
        self.document_actions.register_actions()  # history, export
        self.document_tabs.register_close_action()
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
        self.document_tabs.register_cycle_actions()
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

    # ===== documents (DocumentTabs, LibraryOperations) =====
    def open_document(
        self, path: Path, *, cursor: int | None = None, line: int = 0
    ) -> OpenDocument | None:
        return self.document_tabs.open_document(path, cursor=cursor, line=line)

    def save_current(self) -> None:
        self.document_tabs.save_current()

    def close_tab(self, index: int) -> bool:
        return self.document_tabs.close_tab(index)

    def new_document(self, folder: Path | None = None) -> OpenDocument | None:
        return self.library_operations.new_document(folder)

    def new_folder(self, parent: Path | None = None) -> Path | None:
        return self.library_operations.new_folder(parent)

    def rename_path(self, path: Path | None) -> Path | None:
        return self.library_operations.rename_path(path)

    def move_path(self, path: Path | None) -> Path | None:
        return self.library_operations.move_path(path)

    def move_into(self, target: Path, folder: Path) -> Path | None:
        return self.library_operations.move_into(target, folder)

    def delete_path(self, path: Path | None) -> bool:
        return self.library_operations.delete_path(path)

    @property
    def recent_menu(self) -> QMenu:
        return self.document_actions.recent_menu

    def fill_recent_menu(self) -> None:
        self.document_actions.fill_recent_menu()

    def open_file(self, path: Path | None) -> OpenDocument | None:
        """See ``DocumentActions.open_file``."""
        return self.document_actions.open_file(path)

    def _watch(self, document: OpenDocument) -> None:
        """A document just opened: the window's views follow its editor."""
        editor = document.editor
        self.appearance.style_editor(editor)
        editor.highlighter.spell = self.spell
        editor.document_edited.connect(self.count_timer.start)
        editor.ai_text_inserted.connect(partial(self._on_ai_text, document))
        editor.document_edited.connect(self.outline_timer.start)
        editor.document_edited.connect(lambda: self.writing_status.show_save_state("Edited"))
        editor.cursor_moved.connect(lambda _pos: self.count_timer.start())
        editor.selectionChanged.connect(self.count_timer.start)

    def _on_ai_text(self, document: OpenDocument, text: str) -> None:
        key = self.document_tabs.library_key(document.path)
        self.progress.add_ai_words(key, count_words(text))
        self.update_counts()

    def _on_tab_changed(self, _index: int) -> None:
        self.document_tabs.update_title()
        self.update_counts()
        self.update_outline()
        editor = self.current_editor()
        if self.find_bar.isVisible():
            self.find_bar.set_editor(editor)
        if editor is not None and self.focus_mode:
            editor.set_focus_mode(True)
        self.current_editor_changed.emit(editor)

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
            self.progress.update(self.document_tabs.library_key(document.path), words)
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

        dialog = self.settings_dialog
        if dialog is None:
            dialog = self.settings_dialog = SettingsDialog(self)
        dialog.show_page(page)
        present(dialog)

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
        present(self.about_dialog)

    def show_shortcuts(self) -> None:
        from desktop.ui.shortcuts_dialog import ShortcutsDialog

        self.shortcuts_dialog = ShortcutsDialog(self.registry, self)
        present(self.shortcuts_dialog)

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
        present(self)

    def set_read_only(self, on: bool) -> None:
        self.read_only = on
        for document in self.documents:
            document.read_only = on
            document.editor.setReadOnly(on)
        self.safety.heartbeat.stop()
        if on:
            self.safety.stop_writing()
        self.document_tabs.update_title()

    # ===== session =====
    def restore_session(self) -> None:
        self.document_tabs.restore_session()

    def save_session(self) -> None:
        self.document_tabs.remember_open_tabs()
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
