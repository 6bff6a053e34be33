"""Versions of a document kept by sync (on every device), and restoring one."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop.sync import SyncError, Version
from desktop.ui.sync_controller import SyncController


def version_label(version: Version) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(version.saved_at))
    what = "deleted" if version.deleted else f"{version.size or 0:,} bytes"
    current = " — current" if version.current else ""
    return f"{when} · {version.device_name} · {what}{current}"


class _VersionListDialog(QDialog):
    """A list of versions, a note under it, and Restore / Close buttons."""

    def __init__(
        self, controller: SyncController, title: str, restore_label: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(560, 420)
        self.controller = controller
        self.versions: list[Version] = []
        self.list = QListWidget()
        self.note = QLabel()
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.restore_button = buttons.addButton(
            restore_label, QDialogButtonBox.ButtonRole.ActionRole
        )
        self.restore_button.clicked.connect(self.restore_selected)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addWidget(self.note)
        layout.addWidget(buttons)

    def restore_selected(self) -> None:
        """Restore on the sync thread (it may download the version); ``_restored`` follows."""
        row = self.list.currentRow()
        if not 0 <= row < len(self.versions):
            return
        rev_id = self.versions[row].rev_id
        engine = self.controller.engine
        self.restore_button.setEnabled(False)
        self.note.setText("Restoring…")
        self.controller.run_job(lambda: engine.restore(rev_id), self._restored)

    def _restored(self, result: object) -> None:
        raise NotImplementedError


class SyncHistoryDialog(_VersionListDialog):
    restored = Signal(str)  # path written; the editor reloads it

    def __init__(
        self, controller: SyncController, path: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(controller, f"Synced versions of {path}", "Restore this version", parent)
        self.path = path
        self.list.currentRowChanged.connect(self._on_row)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        if not self.controller.engine_lock.acquire(timeout=0.2):
            self.note.setText("Sync is running; the list appears when it is done.")
            self.controller.finished.connect(self._reload_once)
            self.restore_button.setEnabled(False)
            return
        try:
            self.versions = self.controller.engine.history(self.path)
        finally:
            self.controller.engine_lock.release()
        for version in self.versions:
            QListWidgetItem(version_label(version), self.list)
        self.note.setText(
            "Restoring writes that version back into the document; the current text stays "
            "in this list."
            if self.versions
            else "Sync has no versions of this document yet."
        )
        if self.versions:
            self.list.setCurrentRow(0)
        self._on_row(self.list.currentRow())

    def _reload_once(self, _report: object) -> None:
        self.controller.finished.disconnect(self._reload_once)
        self.reload()

    def _on_row(self, row: int) -> None:
        ok = 0 <= row < len(self.versions)
        self.restore_button.setEnabled(
            ok and not self.versions[row].deleted and not self.versions[row].current
        )

    def _restored(self, result: object) -> None:
        if isinstance(result, Exception):
            message = str(result) if isinstance(result, SyncError) else f"Restore failed: {result}"
            self.note.setText(message)
            QMessageBox.warning(self, "Could not restore", message)
            self._on_row(self.list.currentRow())
            return
        self.restored.emit(str(result))
        self.controller.sync_now()
        self.reload()


class SyncDeletedDialog(_VersionListDialog):
    """Documents deleted on every device; restoring one brings it back into the library."""

    restored = Signal(str)

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(controller, "Deleted documents", "Restore document", parent)
        self.reload()

    def reload(self) -> None:
        self.restore_button.setEnabled(False)
        self.note.setText("Looking…")
        self.controller.run_job(self.controller.engine.deleted_documents, self._show)

    def _show(self, result: object) -> None:
        self.list.clear()
        self.versions = result if isinstance(result, list) else []
        for version in self.versions:
            QListWidgetItem(f"{version.path} — {version_label(version)}", self.list)
        self.note.setText(
            "" if self.versions else "No deleted documents: nothing synced was ever deleted."
        )
        if self.versions:
            self.list.setCurrentRow(0)
        self.restore_button.setEnabled(bool(self.versions))

    def _restored(self, result: object) -> None:
        if isinstance(result, Exception):
            message = str(result) if isinstance(result, SyncError) else f"Restore failed: {result}"
            self.note.setText(message)
            self.restore_button.setEnabled(True)
            return
        self.restored.emit(str(result))
        self.controller.sync_now()
        self.reload()
