"""Build the AI model from inside the app: runs ``draftsmith-model build`` in its own process
(TensorFlow never enters the editor's process), shows each step, and can be cancelled."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, Signal
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inference.model_registry import built_path_from_output

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
INTERRUPT_WAIT_MS = 10_000  # a cancelled build cleans up within this, or is terminated
EXPLANATION = (
    "Draftsmith builds its writing model on this computer from the open SmolLM2 weights "
    "(downloaded once, about 100 MB). The built model takes about 650 MB of disk and the build "
    "takes a few minutes. You can keep writing meanwhile."
)


class ModelBuildDialog(QDialog):
    """``finished_build(ok)`` fires once: True when a model was built (or already was)."""

    finished_build = Signal(bool)

    def __init__(
        self,
        parent: QWidget | None = None,
        extra_args: list[str] | None = None,
        *,
        title: str = "Build the AI model",
        explanation: str = EXPLANATION,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.extra_args = list(extra_args or [])
        self.built_path: Path | None = None  # the model folder the build reported
        self.explanation = QLabel(explanation)
        self.explanation.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.busy = QProgressBar()  # moving while the build runs; each step is a log line
        self.busy.setRange(0, 1)
        self.busy.setTextVisible(False)
        self.start_button = QPushButton("Build")
        self.cancel_button = QPushButton("Cancel")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addWidget(self.log, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.state)
        layout.addWidget(self.start_button)
        layout.addWidget(self.cancel_button)
        self.process = QProcess(self)
        self.process.setWorkingDirectory(str(REPO_ROOT))
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self.cancelled = False

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> None:
        if self.running():
            return
        self.cancelled = False
        self.log.clear()
        self.state.setText("Building… (starting the build tools takes a few seconds)")
        self.start_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.built_path = None
        self.busy.setRange(0, 0)
        self.process.start(
            sys.executable, ["-m", "inference.export.cli", "build", *self.extra_args]
        )

    def cancel(self) -> None:
        if not self.running():
            self.reject()
            return
        self.cancelled = True
        self.state.setText("Cancelling…")
        pid = self.process.processId()
        if sys.platform != "win32" and pid:
            # Ctrl+C for the build: it stops and removes its temporary folder from the cache.
            os.kill(pid, signal.SIGINT)
            if self.process.waitForFinished(INTERRUPT_WAIT_MS):
                return
        self.process.terminate()
        if not self.process.waitForFinished(5000):
            self.process.kill()
            self.process.waitForFinished(5000)

    def _read_output(self) -> None:
        data = bytes(self.process.readAllStandardOutput().data()).decode("utf-8", "replace")
        for line in data.replace("\r", "\n").splitlines():
            if line.strip():
                self.log.appendPlainText(line.strip())
                if line.strip().endswith("…") and self.running():  # a step starts
                    self.state.setText(f"Building: {line.strip()}")

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read_output()
        self.busy.setRange(0, 1)
        self.busy.setValue(1 if code == 0 and not self.cancelled else 0)
        self.start_button.setEnabled(True)
        self.cancel_button.setText("Close")
        if self.cancelled:
            self.state.setText("Cancelled. You can build the model again later.")
            ok = False
        elif code == 0:
            self.state.setText("The model is ready.")
            self.built_path = built_path_from_output(self.log.toPlainText())
            ok = True
        else:
            last = self.log.toPlainText().strip().splitlines()[-1:] or ["no details"]
            self.state.setText(f"The build failed: {last[0]}")
            ok = False
        self.finished_build.emit(ok)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.start_button.setEnabled(True)
            self.busy.setRange(0, 1)
            self.state.setText("The build could not start: Python was not found.")
            self.finished_build.emit(False)

    def done(self, result: int) -> None:
        if self.running():
            self.cancel()
        super().done(result)
