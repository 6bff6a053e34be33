"""History: the snapshots of a document with a diff against the current text, and restore."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.library.snapshots import Snapshot, unified_diff


class SnapshotDialog(QDialog):
    def __init__(
        self, snapshots: list[Snapshot], current_text: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Document history")
        self.resize(900, 560)
        self.snapshots = snapshots
        self.current_text = current_text
        self.chosen: Snapshot | None = None
        self.list = QListWidget()
        self.list.setMaximumWidth(280)
        for snapshot in snapshots:
            QListWidgetItem(snapshot.label, self.list)
        self.diff = QPlainTextEdit(readOnly=True)
        self.diff.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        buttons = QDialogButtonBox()
        self.restore_button = buttons.addButton(
            "Restore this version", QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self._restore)
        buttons.rejected.connect(self.reject)
        body = QHBoxLayout()
        body.addWidget(self.list)
        body.addWidget(self.diff, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(self.show_diff)
        self.restore_button.setEnabled(bool(snapshots))
        if snapshots:
            self.list.setCurrentRow(0)
        else:
            self.diff.setPlainText(
                "No snapshots yet. One is taken when a document is opened "
                "and every few minutes while you write."
            )

    def show_diff(self, row: int) -> None:
        if row < 0:
            return
        old = self.snapshots[row].read()
        lines = unified_diff(old, self.current_text, "snapshot", "now")
        self.diff.clear()
        if not lines:
            self.diff.setPlainText("This snapshot is the same as the current text.")
            return
        cursor = self.diff.textCursor()
        for line in lines:
            fmt = QTextCharFormat()
            if line.startswith("+") and not line.startswith("+++"):
                fmt.setForeground(QColor("#2e7d32"))
            elif line.startswith("-") and not line.startswith("---"):
                fmt.setForeground(QColor("#c62828"))
            elif line.startswith("@@"):
                fmt.setForeground(QColor("#7a7a7a"))
            cursor.insertText(line + "\n", fmt)
        self.diff.moveCursor(QTextCursor.MoveOperation.Start)

    def diff_text(self) -> str:
        return self.diff.toPlainText()

    def _restore(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.chosen = self.snapshots[row]
            self.accept()

    def keyPressEvent(self, event: object) -> None:
        if getattr(event, "key", lambda: None)() == Qt.Key.Key_Escape:
            self.reject()
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]
