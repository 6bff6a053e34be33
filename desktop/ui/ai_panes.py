"""The AI feature's widgets: the task result pane, the document notes pane, the status-bar
label and the dismissible message. They only show things; ``ai_feature`` drives them."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inference.runtime import AnswerCheck, StopReason

logger = logging.getLogger(__name__)

NOTES_SAVE_DELAY_MS = 600


class QuietLabel(QLabel):
    """A wrapped line that takes no room while it has nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.hide()

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text))


class TaskPane(QWidget):
    """A task's answer as it streams, with Replace (Insert here when no text was selected) /
    Insert below / Copy / Try again / Stop.

    An answer that failed its check is shown marked with the reasons; *Replace* and *Insert
    below* then ask first, and only "Use anyway" lets it into the document."""

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
        self.state = QuietLabel()
        self.state.setObjectName("ai-task-state")
        # How the answer was checked: the failed rules, or the method that wrote it.
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setObjectName("ai-task-verdict")
        self.verdict.hide()
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
        # The second step for an answer that failed its check.
        self.confirm = QFrame()
        self.confirm.setObjectName("ai-use-anyway")
        self.confirm_label = QLabel("")
        self.confirm_label.setWordWrap(True)
        self.use_anyway_button = QPushButton("Use anyway")
        self.keep_button = QPushButton("Don't use it")
        self.use_anyway_button.clicked.connect(self._use_anyway)
        self.keep_button.clicked.connect(self._cancel_use)
        confirm_row = QHBoxLayout()
        confirm_row.addWidget(self.use_anyway_button)
        confirm_row.addWidget(self.keep_button)
        confirm_layout = QVBoxLayout(self.confirm)
        confirm_layout.setContentsMargins(0, 0, 0, 0)
        confirm_layout.addWidget(self.confirm_label)
        confirm_layout.addLayout(confirm_row)
        self.confirm.hide()
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
        layout.addWidget(self.verdict)
        layout.addWidget(self.state)
        layout.addLayout(row)
        layout.addWidget(self.confirm)
        self.check = AnswerCheck()
        self._replaces = True  # the answer is for selected text
        self._allowed = True  # the answer may reach the document (passed, or "Use anyway")
        self._pending: SignalInstance | None = None  # the action waiting for "Use anyway"
        self.set_running(False, has_result=False)

    def text(self) -> str:
        return self.output.toPlainText()

    def start(self, title: str, *, replaces: bool = True) -> None:
        """A new answer; ``replaces``: it is for selected text (else its first button puts it
        in at the cursor, and says so)."""
        self._replaces = replaces
        self.title.setText(title)
        self.output.clear()
        self.state.setText("Writing…")
        self._set_verdict(AnswerCheck(), "")
        self.set_running(True, has_result=False)

    def append(self, piece: str) -> None:
        cursor = self.output.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(piece)

    def restart(self, reason: str) -> None:
        """The answer so far failed its check and is being written again: drop it."""
        self.output.clear()
        self.state.setText(restart_message(reason))

    def finish(
        self,
        text: str,
        stop_reason: StopReason,
        check: AnswerCheck | None = None,
        method_note: str = "",
    ) -> None:
        if text and stop_reason is not StopReason.CANCELLED:
            self.output.setPlainText(text)  # the cleaned answer replaces the raw stream
        has_result = bool(self.text().strip())
        if stop_reason is StopReason.CANCELLED:
            self.state.setText("Stopped.")
        elif not has_result:
            self.state.setText(
                "The model wrote nothing usable here. Try again, or select a little more text."
            )
        else:
            self.state.setText("")
        self._set_verdict(check or AnswerCheck(), method_note if has_result else "")
        self.set_running(False, has_result=has_result)

    def _set_verdict(self, check: AnswerCheck, method_note: str) -> None:
        self.check = check
        self._allowed = check.passed
        self._pending = None
        self.confirm.hide()
        lines = []
        if not check.passed:
            reasons = check.summary or "it did not follow the task's rules."
            lines.append(f"⚠ This answer did not pass its check: {_sentence(reasons)}")
        if method_note:
            lines.append(method_note)
        self.verdict.setText("\n".join(lines))
        self.verdict.setVisible(bool(lines))
        self.verdict.setProperty("failed", not check.passed)
        use = "Replace" if self._replaces else "Insert here"
        self.replace_button.setText(use if check.passed else f"{use}…")
        self.insert_button.setText("Insert below" if check.passed else "Insert below…")

    def may_use(self, action: SignalInstance) -> bool:
        """True when the answer may go into the document now; otherwise ask for "Use anyway"
        (``action`` is emitted again once the writer confirms)."""
        if self._allowed:
            return True
        self._pending = action
        self.confirm_label.setText(
            "This answer did not pass its check (the reasons are above). "
            "Put it into your document anyway?"
        )
        self.confirm.show()
        self.use_anyway_button.setFocus()
        return False

    def needs_confirmation(self) -> bool:
        return not self._allowed

    def _use_anyway(self) -> None:
        action, self._pending = self._pending, None
        self.confirm.hide()
        if action is None:
            return
        self._allowed = True  # the writer has read the reasons and chosen this answer
        action.emit()

    def _cancel_use(self) -> None:
        self._pending = None
        self.confirm.hide()

    def fail(self, message: str) -> None:
        self.state.setText(message)
        self.set_running(False, has_result=bool(self.text().strip()))

    def set_running(self, running: bool, *, has_result: bool) -> None:
        self.stop_button.setEnabled(running)
        self.retry_button.setEnabled(not running and self.title.text() != "")
        for button in (self.replace_button, self.insert_button, self.copy_button):
            button.setEnabled(not running and has_result)
        if running:
            self.confirm.hide()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text())


def restart_message(reason: str) -> str:
    """What to say when an answer is dropped and written again (the runtime's reason may say
    what happens next already: "… Writing it again…", "… Using sentences from your text
    instead.")."""
    text = _sentence(reason)
    if any(word in text.lower() for word in ("again", "instead", "showing")):
        return text
    return f"Writing it again: {text}"


def _sentence(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?…":
        text += "."
    return text[:1].upper() + text[1:]


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


class AIModelLabel(QLabel):
    """Status-bar text: which model answers (Settings > AI > Models… changes it)."""

    MAX_CHARS = 32

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ai-model")
        self.name = ""
        self.hide()

    def show_model(self, name: str, folder: str) -> None:
        self.name = name
        shown = name if len(name) <= self.MAX_CHARS else name[: self.MAX_CHARS - 1] + "…"
        self.setText(f"Model: {shown}")
        self.setToolTip(f"{name}\n{folder}\n\nSettings > AI > Models… chooses another.")
        self.show()

    def clear_model(self) -> None:
        self.name = ""
        self.setText("")
        self.hide()


class ElidedLabel(QLabel):
    """One line that never wraps: what doesn't fit ends in "…", the full text is its tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setWordWrap(False)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:
        return QSize(
            self.fontMetrics().horizontalAdvance("AI help…") + 8, super().sizeHint().height()
        )

    def sizeHint(self) -> QSize:
        return QSize(
            self.fontMetrics().horizontalAdvance(self._full) + 8, super().sizeHint().height()
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(
            " ".join(self._full.split()), Qt.TextElideMode.ElideRight, max(0, self.width() - 4)
        )
        super().setText(shown)


class AINotice(QFrame):
    """A message in plain words with a close button; the editor keeps working under it. It
    stays one line in the status bar (elided; the whole message is the tooltip)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ai-notice")
        self.label = ElidedLabel()
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.hide()

    def show_message(self, message: str, hint: str = "") -> None:
        self.label.setText(message)
        if hint:
            self.label.setToolTip(f"{message}\n\n{hint}")
        self.show()

    def message(self) -> str:
        return "" if self.isHidden() else self.label.full_text()

    def dismiss(self) -> None:
        self.label.setText("")
        self.hide()
