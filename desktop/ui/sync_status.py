"""The sync status in the status bar, the log of rounds, and the conflict notice."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.sync import SyncReport
from desktop.ui.sync_controller import SyncController
from desktop.ui.window_activation import present


def describe(report: SyncReport) -> list[str]:
    """Plain lines for the log. Paths only: never what a document says."""
    lines = []
    if report.error:
        lines.append(f"Stopped: {report.error}")
    for label, paths in (
        ("Sent", report.uploaded),
        ("Received", report.downloaded),
        ("Deleted (deleted on another device)", report.deleted),
        ("Conflict copy", report.conflicts),
        ("Kept (you chose to keep)", report.kept),
        ("Waiting for your confirmation to delete", report.deletions_waiting),
        ("Busy, next time", report.skipped_busy),
    ):
        lines.extend(f"{label}: {p}" for p in paths)
    lines.extend(f"Renamed: {a} → {b}" for a, b in report.renamed)
    lines.extend(f"Note: {w}" for w in report.warnings)
    if not lines:
        lines.append("Up to date.")
    return lines


class SyncStatusButton(QToolButton):
    """'Synced 10:42', 'Syncing…', 'Sync: offline' — click for the log."""

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setAutoRaise(True)
        self.setText("Sync: waiting")
        controller.started.connect(lambda: self._show("Syncing…", "Sync is running."))
        controller.finished.connect(self._on_finished)
        controller.blocked.connect(lambda reason: self._show("Sync: off", reason))
        self.clicked.connect(self.show_log)

    def _show(self, text: str, tip: str) -> None:
        self.setText(text)
        self.setToolTip(tip)

    def _on_finished(self, report: SyncReport) -> None:
        if report.error is None:
            self._show(f"Synced {time.strftime('%H:%M')}", "All changes are synced.")
        elif "could not be reached" in report.error:
            self._show("Sync: offline", report.error + " Sync will catch up later.")
        else:
            self._show("Sync: problem", report.error)

    def show_log(self) -> SyncLogDialog:
        dialog = SyncLogDialog(self.controller, self.window())
        present(dialog)
        return dialog


class SyncLogDialog(QDialog):
    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sync log")
        self.resize(640, 420)
        self.text = QPlainTextEdit(readOnly=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.sync_button = buttons.addButton("Sync now", QDialogButtonBox.ButtonRole.ActionRole)
        self.sync_button.clicked.connect(controller.sync_now)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.controller = controller
        controller.finished.connect(self.refresh)
        self.refresh()

    def refresh(self, _report: SyncReport | None = None) -> None:
        blocks = []
        for when, report in reversed(self.controller.history):
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
            blocks.append("\n".join([stamp, *("  " + line for line in describe(report))]))
        self.text.setPlainText("\n\n".join(blocks) or "No sync yet.")


class ConflictNotice(QDialog):
    """Non-modal: names each conflict copy; nothing was merged, both texts are kept."""

    open_requested = Signal(str)

    def __init__(self, paths: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edited on two devices")
        self.setModal(False)
        intro = QLabel(
            "These documents were changed on two devices before they could sync. "
            "Your text stays in the document; the other version was saved next to it as a "
            "conflict copy. Nothing was merged."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.addItems(paths)
        self.list.itemActivated.connect(lambda item: self.open_requested.emit(item.text()))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        open_button = buttons.addButton("Open copy", QDialogButtonBox.ButtonRole.ActionRole)
        open_button.clicked.connect(self._open_current)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.list.setCurrentRow(0)

    def _open_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.open_requested.emit(item.text())
