"""History: the snapshots of a document, what changed since each one shown word by word
(removed words struck through in red, added words in green), and restore."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.library.snapshots import Snapshot
from desktop.library.word_diff import ADDED, FOLDED, REMOVED, WordDiff, time_in_words, word_diff

REASONS = {
    "opened": "when opened",
    "autosnapshot": "while writing",
    "before restore": "before a restore",
    "before recovery": "before crash recovery",
}


def snapshot_title(snapshot: Snapshot) -> str:
    """“12 minutes ago — while writing”."""
    reason = REASONS.get(snapshot.reason, snapshot.reason)
    return f"{time_in_words(snapshot.taken_at)} — {reason}"


class SnapshotDialog(QDialog):
    def __init__(
        self, snapshots: list[Snapshot], current_text: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("SnapshotDialog")
        self.setWindowTitle(self.tr("Document history"))
        self.resize(960, 600)
        self.snapshots = snapshots
        self.current_text = current_text
        self.chosen: Snapshot | None = None
        self.last_diff: WordDiff | None = None
        self.list = QListWidget()
        self.list.setMaximumWidth(300)
        for snapshot in snapshots:
            item = QListWidgetItem(snapshot_title(snapshot), self.list)
            item.setToolTip(f"{snapshot.taken_at:%A %d %B %Y, %H:%M:%S}")
        self.summary = QLabel()
        self.summary.setObjectName("HistorySummary")
        self.summary.setWordWrap(True)
        self.diff = QTextEdit(readOnly=True)
        self.diff.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        legend = QLabel(
            self.tr(
                "Struck-through red: text this version had that is gone now. "
                "Green: text written since."
            )
        )
        legend.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.restore_button = buttons.addButton(
            self.tr("Restore this version"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self._restore)
        buttons.rejected.connect(self.reject)
        right = QVBoxLayout()
        right.addWidget(self.summary)
        right.addWidget(self.diff, 1)
        right.addWidget(legend)
        body = QHBoxLayout()
        body.addWidget(self.list)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(self.show_diff)
        self.restore_button.setEnabled(bool(snapshots))
        if snapshots:
            self.list.setCurrentRow(0)
        else:
            self.diff.setPlainText(
                self.tr(
                    "No snapshots yet. One is taken when a document is opened "
                    "and every few minutes while you write."
                )
            )

    def show_diff(self, row: int) -> None:
        if row < 0:
            return
        snapshot = self.snapshots[row]
        text = snapshot.read()
        diff = word_diff(text, self.current_text)
        self.restore_button.setEnabled(text != self.current_text)  # nothing to bring back
        self.last_diff = diff
        when = f"{snapshot.taken_at:%A %d %B, %H:%M}"
        title = self.list.item(row).text()  # as listed: "17 minutes ago" in both places
        self.summary.setText(f"<b>{title}</b> ({when}). {diff.summary()}")
        self.diff.clear()
        if diff.unchanged:
            self.diff.setPlainText(self.tr("This version is the same as the current text."))
            return
        cursor = self.diff.textCursor()
        previous = ""
        for piece in diff.pieces:
            if previous == REMOVED and piece.kind == ADDED:
                cursor.insertText(" ", QTextCharFormat())  # "came rolled", not "camerolled"
            previous = piece.kind
            fmt = QTextCharFormat()
            if piece.kind == REMOVED:
                fmt.setForeground(QColor("#b3261e"))
                fmt.setBackground(QColor(179, 38, 30, 28))
                fmt.setFontStrikeOut(True)
            elif piece.kind == ADDED:
                fmt.setForeground(QColor("#1e6b2a"))
                fmt.setBackground(QColor(46, 125, 50, 40))
            elif piece.kind == FOLDED:
                fmt.setForeground(QColor("#7a7a7a"))
                fmt.setFontItalic(True)
                fmt.setFontWeight(QFont.Weight.Normal)
            cursor.insertText(piece.text, fmt)
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
