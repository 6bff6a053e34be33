"""Opening files and recent documents, document history and export (File menu entries).

Installed into the window like the other features (see ``window_seam.EditorWindow``): it registers
those actions where the window asks, and uses only the seam (current document, library, prompter).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtWidgets import QDialog, QMenu

from desktop.library import SaveError
from desktop.library.export import FORMATS, export_text, folder_text
from desktop.ui.open_document import OpenDocument
from desktop.ui.window_seam import EditorWindow


class DocumentActions:
    def __init__(self, window: EditorWindow) -> None:
        self.window = window
        self.history_dialog: QDialog | None = None  # the last one shown
        self.recent_menu: QMenu  # the File menu's submenu, made by register_open_actions

    def register_actions(self) -> None:
        """Called by the window where these belong in the File menu."""
        window = self.window
        r = window.registry.register

        def has_doc() -> bool:
            return window.current_document() is not None

        def writable_library_doc() -> bool:  # history: library documents only
            document = window.current_document()
            return (
                not window.read_only
                and document is not None
                and window.library.contains(document.path)
            )

        r(
            "file.history",
            "Document history…",
            self.show_history,
            shortcut="Ctrl+Alt+H",
            menu="File",
            enabled=writable_library_doc,
        )
        for fmt, label in FORMATS.items():
            r(
                f"file.export.{fmt}",
                f"Export document as {label}…",
                partial(self.export_current, fmt),
                menu="File",
                enabled=has_doc,
            )
        for fmt, label in FORMATS.items():
            r(
                f"file.export_folder.{fmt}",
                f"Export folder as {label}…",
                partial(self.export_folder, fmt),
                menu="File",
            )

    def register_open_actions(self) -> None:
        """Called by the window where these belong in the File menu."""
        self.window.registry.register(
            "file.open_file",
            "Open file from outside the library…",
            lambda: self.open_file(None),
            shortcut="Ctrl+Alt+O",
            menu="File",
            tip="Opens a Markdown or text file where it is; your changes are saved to it.",
        )
        self.recent_menu = self.window.menu("File").addMenu("Recent documents")
        self.recent_menu.setObjectName("RecentDocumentsMenu")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.window.settings.recent_documents() if p.is_file()]
        if not recent:
            self.recent_menu.addAction("No recent documents").setEnabled(False)
            return
        for path in recent:
            where = "" if self.window.library.contains(path) else f"  ({path.parent})"
            action = self.recent_menu.addAction(path.stem + where)
            action.setToolTip(str(path))
            action.triggered.connect(partial(self.open_recent, path))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction(
            "Clear the list", lambda: self.window.change_setting("recent_documents", [])
        )

    def open_recent(self, path: Path) -> OpenDocument | None:
        if self.window.library.contains(path):
            return self.window.open_document(path)
        return self.open_file(path)

    def open_file(self, path: Path | None) -> OpenDocument | None:
        """A Markdown or text file from anywhere opens in place: it is not copied into the
        library, and every save goes back to that file."""
        if path is None:
            path = self.window.prompter.ask_open_path(
                "Open a Markdown or text file",
                Path.home(),
                "Markdown and text (*.md *.markdown *.txt);;All files (*)",
            )
            if path is None:
                return None
        path = Path(path)
        if not path.is_file():
            self.window.prompter.error(
                "Couldn't open", f"“{path}” isn't a file that can be opened."
            )
            return None
        document = self.window.open_document(path)
        if document is not None and not self.window.library.contains(document.path):
            self.window.statusBar().showMessage(
                f"Opened “{path.name}” in place, outside the library: saving writes to that file.",
                12000,
            )
        return document

    def show_history(self) -> None:
        from desktop.ui.snapshot_dialog import SnapshotDialog

        document = self.window.current_document()
        if document is None:
            return
        if not self.window.library.contains(document.path):
            self.window.prompter.info(
                "Document history",
                f"“{document.path.name}” is opened in place from outside the library; "
                "history snapshots are kept only for documents in the library.",
            )
            return
        dialog = SnapshotDialog(
            self.window.library.snapshots.list(document.path),
            document.editor.text(),
            self.window.window(),
        )
        self.history_dialog = dialog
        if dialog.exec() and dialog.chosen is not None:
            self.restore_snapshot(document, dialog.chosen.read())

    def restore_snapshot(self, document: OpenDocument, text: str) -> None:
        """Restoring is itself snapshotted and undoable."""
        document.take_snapshot("before restore")
        document.editor.replace_all_text_as_one_undo_step(text)
        document.save()

    def export_current(self, fmt: str, destination: Path | None = None) -> Path | None:
        document = self.window.current_document()
        if document is None:
            return None
        return self._export(
            document.editor.text(), document.title, fmt, destination, document.path.parent
        )

    def export_folder(
        self, fmt: str, folder: Path | None = None, destination: Path | None = None
    ) -> Path | None:
        if folder is None:
            folder = self.window.prompter.ask_folder("Export folder", self.window.library.root)
            if folder is None:
                return None
        chapters = [
            d
            for d in self.window.library.documents()
            if d.resolve() == folder.resolve() or folder.resolve() in d.resolve().parents
        ]
        if not chapters:
            self.window.prompter.info(
                "Export folder", f"“{folder.name}” has no documents to export."
            )
            return None
        for document in self.window.documents:  # the export reads the files: save them now
            if document.is_dirty():
                document.save()
        return self._export(folder_text(chapters), folder.name, fmt, destination, folder.parent)

    def _export(
        self, text: str, title: str, fmt: str, destination: Path | None, start_folder: Path
    ) -> Path | None:
        """Asks where, with the document's name, starting where the last export went (the
        first time: the document's folder)."""
        if destination is None:
            start_folder = self.window.settings.export_folder() or start_folder
            suggested = start_folder / f"{title}.{fmt}"
            if suggested.exists():  # never offer to overwrite the document itself
                suggested = start_folder / f"{title} (exported).{fmt}"
            destination = self.window.prompter.ask_save_path(
                "Export", suggested, f"{FORMATS[fmt]} (*.{fmt})"
            )
            if destination is None:
                return None
        if any(d.path.resolve() == destination.resolve() for d in self.window.documents):
            self.window.prompter.error(
                "Export", f"“{destination.name}” is an open document; choose another name."
            )
            return None
        try:
            if fmt == "pdf":
                from desktop.ui.pdf_export import export_pdf

                export_pdf(text, destination, title)
            else:
                export_text(text, destination, fmt, title)
        except SaveError as error:
            self.window.prompter.error("Export failed", str(error))
            return None
        self.window.settings.set("export_folder", str(destination.parent))  # saved at close
        self.window.statusBar().showMessage(f"Exported “{destination.name}”.", 6000)
        return destination
