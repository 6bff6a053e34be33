"""*AI › Learn my style…*: adapt the writing model to the writer's documents.

Runs ``draftsmith-model learn FOLDER --json`` in its own process (TensorFlow never enters the
editor's process), shows the progress with the time left, can be cancelled (what was learned
so far is kept and the next start continues from it), says the result in plain words, and
offers the adapted model only when it predicts the held-out documents better."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.library.library import untouched_welcome
from desktop.ui.prompter import Prompter

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
# The learn command saves a checkpoint when asked to stop; give it this long before a kill.
STOP_GRACE_MS = 60_000
EXIT_OFFERED, EXIT_UNUSABLE, EXIT_CANCELLED, EXIT_NOT_IMPROVED = 0, 2, 3, 4


def time_left(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1.5:
        return "about 1 second left"
    if seconds < 90:
        return f"about {round(seconds)} seconds left"
    return f"about {round(seconds / 60)} minutes left"


class LearnStyleDialog(QDialog):
    """``use_model(path)`` fires when the writer chooses the adapted model."""

    use_model = Signal(str)
    finished_learning = Signal(int)  # the learn command's exit status

    def __init__(
        self,
        parent: QWidget | None,
        library_root: Path,
        prompter: Prompter,
        extra_args: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Learn my style"))
        self.setMinimumWidth(560)
        self.library_root = library_root
        self.prompter = prompter
        self.extra_args = list(extra_args or [])
        self.model_path = ""
        self.cancelled = False
        self.last_error = ""

        explanation = QLabel(
            self.tr(
                "Draftsmith can adapt its writing model to your own documents, on this "
                "computer. Some whole documents are kept aside to measure whether suggestions "
                "really get closer to your writing, and the adapted model is offered only if "
                "they do. Nothing leaves this computer; what is learned stays in Draftsmith's "
                "data folder and is not synced."
            )
        )
        explanation.setWordWrap(True)
        self.whole_library = QRadioButton(
            self.tr("The whole library (%1)").replace("%1", str(library_root))
        )
        self.one_folder = QRadioButton(self.tr("The documents in a folder:"))
        self.whole_library.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.whole_library)
        group.addButton(self.one_folder)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText(self.tr("A folder of .md or .txt files"))
        self.browse_button = QPushButton(self.tr("Choose…"))
        self.browse_button.clicked.connect(self.browse)
        self.folder_edit.textEdited.connect(lambda _text: self.one_folder.setChecked(True))
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.one_folder)
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.state = QLabel(self.tr("Learning takes a few minutes; you can keep writing."))
        self.state.setWordWrap(True)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        font = self.result_label.font()
        font.setBold(True)
        self.result_label.setFont(font)

        self.start_button = QPushButton(self.tr("Start learning"))
        self.cancel_button = QPushButton(self.tr("Close"))
        self.use_button = QPushButton(self.tr("Use the adapted model"))
        self.use_button.hide()
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(self._use)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addWidget(self.whole_library)
        layout.addLayout(folder_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.state)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)

        self.process = QProcess(self)
        self.process.setWorkingDirectory(str(REPO_ROOT))
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.readyReadStandardError.connect(self._read_errors)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self._buffer = b""
        self.kill_timer = QTimer(self)
        self.kill_timer.setSingleShot(True)
        self.kill_timer.timeout.connect(self.process.kill)

    # -- choosing --------------------------------------------------------------------------
    def chosen_folder(self) -> Path | None:
        if self.whole_library.isChecked():
            return self.library_root
        text = self.folder_edit.text().strip()
        return Path(text).expanduser() if text else None

    def browse(self) -> None:
        folder = self.prompter.ask_folder(self.tr("Documents to learn from"), self.library_root)
        if folder is not None:
            self.folder_edit.setText(str(folder))
            self.one_folder.setChecked(True)

    # -- running ---------------------------------------------------------------------------
    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> None:
        if self.running():
            return
        folder = self.chosen_folder()
        if folder is None or not folder.is_dir():
            self.state.setText(self.tr("Choose a folder that exists."))
            return
        self.cancelled = False
        self.last_error = ""
        self.model_path = ""
        self.use_button.hide()
        self.result_label.setText("")
        self.progress.setRange(0, 0)  # busy until the first step is reported
        self.state.setText(self.tr("Starting (loading the learning tools takes a moment)…"))
        self._set_running(True)
        args = ["-m", "inference.export.cli", "learn", str(folder), "--json", *self.extra_args]
        welcome = untouched_welcome(folder)
        if welcome is not None:  # the app's text, not the writer's
            args += ["--exclude", str(welcome)]
        self.process.start(sys.executable, args)

    def cancel(self) -> None:
        if not self.running():
            self.reject()
            return
        self.cancelled = True
        self.state.setText(self.tr("Stopping after the current step and keeping what was learned…"))
        self.cancel_button.setEnabled(False)
        self.process.terminate()  # the learn command saves a checkpoint, then exits
        self.kill_timer.start(STOP_GRACE_MS)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        for widget in (self.whole_library, self.one_folder, self.folder_edit, self.browse_button):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText(self.tr("Cancel") if running else self.tr("Close"))

    def _read_output(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line.decode("utf-8", "replace"))
            except json.JSONDecodeError:
                continue  # library chatter on stdout
            if isinstance(event, dict):
                self._handle(event)

    def _read_errors(self) -> None:
        # TensorFlow's own warnings arrive here too; only the command's last line matters.
        data = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
        for line in data.splitlines():
            if line.startswith("draftsmith-model: "):
                self.last_error = line.removeprefix("draftsmith-model: ").strip()

    def _handle(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "progress":
            self._show_progress(event)
        elif kind == "message":
            self.state.setText(str(event.get("text", "")))
        elif kind == "error":
            self.last_error = str(event.get("text", ""))
        elif kind == "result":
            self.result_label.setText(str(event.get("sentence", "")))
            self.model_path = str(event.get("model_path") or "") if event.get("offered") else ""

    def _show_progress(self, event: dict) -> None:
        label = str(event.get("label", ""))
        step, steps = int(event.get("step") or 0), int(event.get("steps") or 0)
        if event.get("phase") == "train" and steps:
            self.progress.setRange(0, steps)
            self.progress.setValue(step)
            left = time_left(event.get("seconds_left"))
            self.state.setText(
                self.tr("%1: step %2 of %3")
                .replace("%1", label)
                .replace("%2", str(step))
                .replace("%3", str(steps))
                + (f" · {left}" if left else "")
            )
        else:
            self.progress.setRange(0, 0)
            self.state.setText(f"{label}…")

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self.kill_timer.stop()
        self._read_output()
        self._read_errors()
        self._set_running(False)
        self.progress.setRange(0, 100)
        if self.cancelled or code == EXIT_CANCELLED:
            self.progress.setValue(0)
            self.state.setText(
                self.tr(
                    "Stopped. What was learned so far is kept: start again with the same "
                    "documents to continue where it stopped."
                )
            )
        elif code == EXIT_OFFERED and self.model_path:
            self.progress.setValue(100)
            self.state.setText(self.tr("The adapted model is ready."))
            self.use_button.show()
        elif code == EXIT_NOT_IMPROVED:
            self.progress.setValue(100)
            self.state.setText(self.tr("Your current model stays in use."))
        else:
            self.progress.setValue(0)
            reason = self.last_error or self.tr("no details")
            self.state.setText(self.tr("Learning could not finish: %1").replace("%1", reason))
        self.finished_learning.emit(code)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._set_running(False)
            self.progress.setRange(0, 100)
            self.state.setText(self.tr("Learning could not start: Python was not found."))
            self.finished_learning.emit(-1)

    def _use(self) -> None:
        if self.model_path:
            self.use_model.emit(self.model_path)
            self.state.setText(self.tr("Suggestions now use the adapted model."))
            self.use_button.hide()

    def done(self, result: int) -> None:
        if self.running():
            self.cancel()
            self.process.waitForFinished(STOP_GRACE_MS)
        super().done(result)
