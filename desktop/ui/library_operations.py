"""The library's files and folders as the writer asks: new document, new folder, rename, move
(menu or drag and drop), move to trash, the sidebar's right-click menu, and a new document named
after its first line until the writer renames it.

Installed into the window like the other features (see ``window_seam.EditorWindow``). Open tabs
follow what it renames or moves through ``DocumentTabs`` (document_tabs.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QPoint
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu

from desktop.library import LibraryError
from desktop.library.document_title import free_title, title_from_text
from desktop.library.export import FORMATS
from desktop.ui.document_tabs import DocumentTabs
from desktop.ui.open_document import OpenDocument
from desktop.ui.sidebar import LibraryPane
from desktop.ui.window_seam import EditorWindow

logger = logging.getLogger(__name__)


class LibraryWindow(EditorWindow, Protocol):
    """The seam plus the sidebar's library pane and folder export (its right-click menu)."""

    library_pane: LibraryPane

    def export_folder(
        self, fmt: str, folder: Path | None = None, destination: Path | None = None
    ) -> Path | None: ...


def _in_words(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}."
    return str(exc)


class LibraryOperations:
    def __init__(self, window: LibraryWindow, tabs: DocumentTabs) -> None:
        self.window = window
        self.tabs = tabs
        tabs.saved.connect(self._name_if_untitled)
        window.library_pane.context_requested.connect(self._context_menu)
        window.library_pane.move_requested.connect(self.move_into)

    def register_new_actions(self) -> None:
        """Called by the window where these belong in the File menu."""
        r = self.window.registry.register

        def writable() -> bool:
            return not self.window.read_only

        r(
            "file.new",
            "New document",
            self.new_document,
            shortcut=QKeySequence.StandardKey.New,
            menu="File",
            enabled=writable,
        )
        r("file.new_folder", "New folder…", self.new_folder, menu="File", enabled=writable)

    def register_actions(self) -> None:
        """Rename, move, trash: for the current document when it is in the library."""
        r = self.window.registry.register

        def writable_library_doc() -> bool:
            document = self.window.current_document()
            return (
                not self.window.read_only
                and document is not None
                and self.window.library.contains(document.path)
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

    def _context_menu(self, path: Path | None, global_pos: QPoint) -> None:
        self.context_menu(path).exec(global_pos)

    def context_menu(self, path: Path | None) -> QMenu:
        """The sidebar's right-click menu on ``path`` (a folder, a document, or None: the
        library's empty space)."""
        window = self.window
        menu = QMenu(window.window())
        folder = (
            path
            if path is not None and path.is_dir()
            else (path.parent if path is not None else window.library.root)
        )
        writable = not window.read_only
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
                        f"Export folder as {label}…", partial(window.export_folder, fmt, path)
                    )
        return menu

    def _target(self, path: Path | None) -> Path | None:
        if path is not None:
            return path
        document = self.window.current_document()
        return document.path if document else None

    def new_document(self, folder: Path | None = None) -> OpenDocument | None:
        """Untitled documents are real files from the first moment, so they autosave too."""
        window = self.window
        if window.read_only:
            return None
        try:
            path = window.library.create_document(folder, "Untitled")
        except (OSError, LibraryError) as exc:
            window.prompter.error("Couldn't create a document", _in_words(exc))
            return None
        window.library_pane.refresh()
        return window.open_document(path)

    def new_folder(self, parent: Path | None = None) -> Path | None:
        window = self.window
        name = window.prompter.ask_text("New folder", "Folder name:", "New folder")
        if not name:
            return None
        try:
            folder = window.library.create_folder(parent, name)
        except (OSError, LibraryError) as exc:
            window.prompter.error("Couldn't create the folder", _in_words(exc))
            return None
        window.library_pane.refresh()
        return folder

    def _name_if_untitled(self, document: OpenDocument) -> None:
        if document.auto_title:
            self.name_from_text(document)

    def name_from_text(self, document: OpenDocument) -> Path | None:
        """A new document takes its name from its first heading or line (until renamed)."""
        window = self.window
        title = title_from_text(document.editor.text())
        if window.read_only or not title or title == document.title:
            return None
        old = document.path
        title = free_title(old.parent, title, old.suffix, keep=old)
        if title == document.title:
            return None
        try:
            new_path = window.library.rename(old, title)
        except (OSError, LibraryError) as exc:
            logger.info("Couldn't name the new document after its first line: %s", exc)
            return None
        self.tabs.follow_move(old, new_path)
        window.library_pane.refresh()
        return new_path

    def rename_path(self, path: Path | None) -> Path | None:
        window = self.window
        target = self._target(path)
        if target is None or not window.library.contains(target):
            return None
        title = target.name if target.is_dir() else target.stem
        opened = next((d for d in window.documents if d.path == target), None)
        suggestion = ""
        if opened is not None and opened.auto_title:
            suggestion = title_from_text(opened.editor.text())
        new_title = window.prompter.ask_text("Rename", "New name:", suggestion or title)
        if not new_title:
            return None
        if opened is not None:
            opened.auto_title = False  # the writer chose: no more automatic names
        if new_title == title:
            return None
        return self._relocate(
            target, lambda: window.library.rename(target, new_title), "Couldn't rename"
        )

    def move_path(self, path: Path | None) -> Path | None:
        window = self.window
        target = self._target(path)
        if target is None:
            return None
        folders = [p for p in window.library.folders() if p != target and target not in p.parents]
        labels = ["Library (top level)"] + [
            str(p.relative_to(window.library.root)) for p in folders[1:]
        ]
        choice = window.prompter.choose("Move", f"Move “{target.name}” to:", labels)
        if choice is None:
            return None
        return self.move_into(target, folders[choice])

    def move_into(self, target: Path, folder: Path) -> Path | None:
        """Move a document or folder (menu or drag and drop in the sidebar)."""
        window = self.window
        if window.read_only or target.parent == folder:
            return None
        return self._relocate(target, lambda: window.library.move(target, folder), "Couldn't move")

    def _relocate(self, target: Path, change: Callable[[], Path], failure: str) -> Path | None:
        """Rename or move ``target`` on disk (``change``); its open tabs follow, and a failure
        is told under the title ``failure``."""
        self.tabs.save_under(target)
        try:
            new_path = change()
        except (OSError, LibraryError) as exc:
            self.window.prompter.error(failure, _in_words(exc))
            return None
        self.tabs.follow_move(target, new_path)
        self.window.library_pane.refresh()
        return new_path

    def delete_path(self, path: Path | None) -> bool:
        window = self.window
        target = self._target(path)
        if target is None:
            return False
        kind = "folder" if target.is_dir() else "document"
        if not window.prompter.confirm(
            "Move to trash", f"Move the {kind} “{target.name}” to the trash?"
        ):
            return False
        for document in list(window.documents):
            if document.path == target or target in document.path.parents:
                document.save()
                self.tabs.remove(document)
        try:
            kept_in = window.library.delete(target)
        except (OSError, LibraryError) as exc:
            window.prompter.error("Couldn't move to trash", _in_words(exc))
            return False
        window.library_pane.refresh()
        # Where it went first: beside the status bar's permanent items a long name is cut off.
        where = (
            "your system's trash, which can put it back"
            if kept_in is None
            else f"the library's trash folder {kept_in.parent}"
        )
        window.statusBar().showMessage(f"Moved to {where}: “{target.name}”.", 10_000)
        return True
