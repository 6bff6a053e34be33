"""The AI feature's widgets: the task result pane, the document notes pane, the status-bar
label and the dismissible message. They only show things; ``ai_feature`` drives them."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

logger = logging.getLogger(__name__)

NOTES_SAVE_DELAY_MS = 600


class TaskPane(QWidget):
    """A task's answer as it streams, with Replace / Insert below / Copy / Try again / Stop."""

    replace_requested = Signal()
    insert_requested = Signal()
    retry_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select text, then choose a task in the AI menu.")
        self.title.setWordWrap(True)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setObjectName("ai-task-output")
        self.state = QLabel("")
        self.replace_button = QPushButton("Replace")
        self.insert_button = QPushButton("Insert below")
        self.copy_button = QPushButton("Copy")
        self.retry_button = QPushButton("Try again")
        self.stop_button = QPushButton("Stop")
        self.replace_button.clicked.connect(self.replace_requested)
        self.insert_button.clicked.connect(self.insert_requested)
        self.copy_button.clicked.connect(self.copy)
        self.retry_button.clicked.connect(self.retry_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        row = QHBoxLayout()
        for button in (
            self.replace_button,
            self.insert_button,
            self.copy_button,
            self.retry_button,
            self.stop_button,
        ):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.output, 1)
        layout.addWidget(self.state)
        layout.addLayout(row)
        self.set_running(False, has_result=False)

    def text(self) -> str:
        return self.output.toPlainText()

    def start(self, title: str) -> None:
        self.title.setText(title)
        self.output.clear()
        self.state.setText("Writing…")
        self.set_running(True, has_result=False)

    def append(self, piece: str) -> None:
        cursor = self.output.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(piece)

    def finish(self, text: str, stop_reason: str) -> None:
        if text and stop_reason != "cancelled":
            self.output.setPlainText(text)  # the cleaned answer replaces the raw stream
        self.state.setText("Stopped." if stop_reason == "cancelled" else "")
        self.set_running(False, has_result=bool(self.text().strip()))

    def fail(self, message: str) -> None:
        self.state.setText(message)
        self.set_running(False, has_result=bool(self.text().strip()))

    def set_running(self, running: bool, *, has_result: bool) -> None:
        self.stop_button.setEnabled(running)
        self.retry_button.setEnabled(not running and self.title.text() != "")
        for button in (self.replace_button, self.insert_button, self.copy_button):
            button.setEnabled(not running and has_result)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text())


class NotesPane(QWidget):
    """The current document's notes; ``changed`` fires (debounced) when the writer edits them."""

    save_due = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        hint = QLabel(
            "Notes for this document (characters, setting, tone to keep). "
            "They go with every AI request for it."
        )
        hint.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("ai-notes")
        self.editor.setPlaceholderText(
            "e.g. Mara is the narrator; the story is set in 1920s Lisbon."
        )
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.editor, 1)
        self._loading = False
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(NOTES_SAVE_DELAY_MS)
        self.timer.timeout.connect(self.save_due)
        self.editor.textChanged.connect(self._edited)

    def _edited(self) -> None:
        if not self._loading:
            self.timer.start()

    def text(self) -> str:
        return self.editor.toPlainText()

    def show_notes(self, text: str, *, enabled: bool) -> None:
        self._loading = True
        try:
            self.editor.setPlainText(text)
        finally:
            self._loading = False
        self.editor.setEnabled(enabled)


class AIStatus(QLabel):
    """Status-bar text: loading, the device in use, tokens/s of the last generation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ai-status")
        self.device = ""

    def loading(self) -> None:
        self.setText("AI: Loading model…")

    def ready(self, device_label: str) -> None:
        self.device = device_label
        self.setText(f"AI: {device_label}")

    def speed(self, tokens_per_second: float) -> None:
        if self.device and tokens_per_second > 0:
            self.setText(f"AI: {self.device} · {tokens_per_second:.0f} tokens/s")

    def unavailable(self, reason: str) -> None:
        self.setText("AI: not available")
        self.setToolTip(reason)


class AINotice(QFrame):
    """A message in plain words with a close button; the editor keeps working under it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ai-notice")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.hide()

    def show_message(self, message: str) -> None:
        self.label.setText(message)
        self.show()

    def message(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def dismiss(self) -> None:
        self.label.clear()
        self.hide()
