"""A short writing session in the real app, driven through its own code paths.

    python -m tests.privacy.app_session LIBRARY [--linger-seconds S] [--timeout-seconds S]

Starts the editor exactly as ``draftsmith --library LIBRARY`` does (``desktop.ui.app.run``:
window, single-instance server, sync and AI features loaded in their threads, the model found in
the model cache), then, once the AI model is ready, types a sentence, asks for a ghost-text
continuation (the ``ai.continue`` action), selects the sentence and runs Rewrite (``ai.rewrite``),
waits for both answers and closes the window (which saves and backs up the library). Prints one
JSON line with what the model wrote. Exit code 0 when both answers came, 1 otherwise.

The privacy test runs it under strace in a network namespace; ``--linger-seconds`` keeps the
session open at least that long, as a writer's session would be, so anything a library only
does after a few seconds (onnxruntime's telemetry uploads ~9 s after start-up) happens inside
the trace."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from desktop.ui import app as desktop_app

SENTENCE = "The keeper climbed the stairs to the lamp room."
# Ends mid-sentence, so the continuation has something to finish.
TYPED = "\n\n" + SENTENCE + " The lamp was cold, and the wind"
POLL_MS = 50
MAX_SUGGESTIONS = 3


class SessionDriver:
    """Steps through the session on the GUI thread, polling the window's state."""

    def __init__(self, linger_seconds: float, timeout_seconds: float) -> None:
        self.started = time.monotonic()
        self.linger_seconds = linger_seconds
        self.timeout_seconds = timeout_seconds
        self.window: Any = None
        self.feature: Any = None
        self.step = "wait for the AI model"
        self.finished_jobs: set[int] = set()
        self.rewrite_job: int | None = None
        self.suggestions = 0
        self.result: dict[str, Any] = {}
        self.ok = False
        self.timer = QTimer()
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def poll(self) -> None:
        if self.elapsed() > self.timeout_seconds:
            self.result["error"] = f"timed out at step: {self.step}"
            self.close()
            return
        getattr(self, "_" + self.step.replace(" ", "_"))()

    def _wait_for_the_AI_model(self) -> None:
        if self.window is None:
            from desktop.ui.main_window import MainWindow

            windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
            self.window = windows[0] if windows else None
            return
        self.feature = getattr(self.window, "ai", None)
        if self.feature is None:
            return
        if not self.feature.ready:
            if self.feature.reason and "loading" not in self.feature.reason.lower():
                self.result["error"] = f"AI unavailable: {self.feature.reason}"
                self.close()
            return
        self.feature.host.finished.connect(self._on_finished)
        self.feature.host.failed.connect(self._on_failed)
        editor = self.window.current_editor()
        editor.set_cursor_position(len(editor.text()))
        editor.insert_text_as_one_undo_step(TYPED)
        self.result["device"] = self.feature.status.text()
        self.window.registry.trigger("ai.continue")
        self.suggestions = 1
        self.step = "wait for the ghost text"

    def _on_finished(self, result: Any) -> None:
        self.finished_jobs.add(result.job_id)
        self.result.setdefault("jobs", []).append([result.job_id, result.stop_reason, result.text])

    def _on_failed(self, job_id: int, message: str) -> None:
        self.result.setdefault("jobs", []).append([job_id, "failed", message])

    def _wait_for_the_ghost_text(self) -> None:
        editor = self.window.current_editor()
        if self.feature.ghost_job is not None or not editor.ghost_text():
            if self.feature.ghost_job is None and self.feature.notice.message():
                self.result["error"] = "No suggestion: " + self.feature.notice.message()
                self.close()
            elif self.feature.ghost_job is None and self.suggestions < MAX_SUGGESTIONS:
                # The model may stop at once (a paragraph end): ask again, as a writer would.
                self.suggestions += 1
                self.window.registry.trigger("ai.continue")
            return
        self.result["ghost_text"] = editor.ghost_text()
        editor.clear_ghost_text()
        text = editor.text()
        cursor = editor.textCursor()
        cursor.setPosition(text.rindex(SENTENCE))
        cursor.setPosition(text.rindex(SENTENCE) + len(SENTENCE), QTextCursor.MoveMode.KeepAnchor)
        editor.setTextCursor(cursor)
        self.window.registry.trigger("ai.rewrite")
        job = self.feature.task_job
        self.rewrite_job = job.job_id if job is not None else None
        self.step = "wait for the rewrite"

    def _wait_for_the_rewrite(self) -> None:
        if self.rewrite_job is None:
            self.result["error"] = "Rewrite did not start: " + self.feature.notice.message()
            self.close()
        elif self.rewrite_job in self.finished_jobs:
            self.result["rewrite"] = self.feature.task_pane.text()
            self.ok = bool(self.result["ghost_text"].strip() and self.result["rewrite"].strip())
            self.step = "linger"

    def _linger(self) -> None:
        if self.elapsed() >= self.linger_seconds:
            self.close()

    def close(self) -> None:
        self.timer.stop()
        self.result["seconds"] = round(self.elapsed(), 1)
        if self.window is not None:
            self.window.close()
        QApplication.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", type=Path)
    parser.add_argument("--linger-seconds", type=float, default=0.0)
    parser.add_argument("--timeout-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    app = QApplication(["draftsmith"])
    driver = SessionDriver(args.linger_seconds, args.timeout_seconds)
    desktop_app.run(["draftsmith"], library_path=args.library)
    del app
    print(json.dumps(driver.result))
    return 0 if driver.ok else 1


if __name__ == "__main__":
    sys.exit(main())
