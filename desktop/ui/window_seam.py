"""The seam between the main window and the features installed into it (AI, sync).

A feature receives an :class:`EditorWindow` — never ``MainWindow`` itself — so mypy checks that
it uses only what is listed here, and ``MainWindow`` is checked to provide all of it
(tests/ui/test_window_seam.py). To give features something new, add it here and make it public on
``MainWindow``; nothing else of the window is theirs to call.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QMenu, QStatusBar, QWidget

from desktop.library import Library
from desktop.settings import Settings
from desktop.ui.action_registry import ActionRegistry
from desktop.ui.document_editor import DocumentEditor
from desktop.ui.open_document import OpenDocument
from desktop.ui.prompter import Prompter

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow


@runtime_checkable
class EditorWindow(Protocol):
    """What a feature may use of the window it is installed into."""

    # Actions: ``registry.register(...)`` adds a menu entry, its shortcut and a palette entry.
    registry: ActionRegistry
    # hook(menu, editor): called to add entries to the editor's right-click menu.
    editor_context_menu_hooks: list[Callable[[QMenu, DocumentEditor], None]]
    library: Library
    prompter: Prompter  # every question and message to the writer
    settings: Settings
    read_only: bool  # another Draftsmith window owns this library: change nothing
    documents: list[OpenDocument]  # the open documents, one per tab
    current_editor_changed: SignalInstance  # (DocumentEditor | None)
    settings_changed: SignalInstance  # (key) a setting was changed and saved

    def current_editor(self) -> DocumentEditor | None: ...

    def current_document(self) -> OpenDocument | None: ...

    def open_document(
        self, path: Path, *, cursor: int | None = None, line: int = 0
    ) -> OpenDocument | None: ...

    def change_setting(self, key: str, value: object) -> None:
        """Save one setting at once and apply it; ``settings_changed`` follows."""

    def add_sidebar_pane(self, pane_id: str, title: str, widget: QWidget) -> None: ...

    def when_library_listed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the sidebar lists every document (a big library's rows are
        added between events at start-up): the moment for background loading to begin."""

    def show_pane(self, pane_id: str) -> None:
        """Show the sidebar (if hidden) on the pane added as ``pane_id``."""

    def add_status_widget(self, widget: QWidget, *, permanent: bool = True) -> None: ...

    def statusBar(self) -> QStatusBar:
        """For brief messages: ``statusBar().showMessage(text, ms)``."""

    def menu(self, path: str) -> QMenu:
        """A menu-bar menu by its title, or a submenu by its path ("Settings › Sync"): one
        a feature registered an action into."""

    def window(self) -> QWidget:
        """The window as a widget: the parent for a feature's dialogs, menus and event filter."""


if TYPE_CHECKING:

    def _main_window_is_an_editor_window(window: MainWindow) -> EditorWindow:
        return window  # mypy proves here that MainWindow provides the whole seam
