"""Runs sync rounds off the GUI thread: on demand, on a timer and after saves.

One worker thread owns the engine while a round runs; requests that arrive meanwhile are
folded into one more round. Questions the engine asks (many deletions) are answered on the
GUI thread through a blocking queued signal, so typing never waits for the network.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from desktop.sync import SyncEngine, SyncReport
from desktop.sync.entitlement import SyncPermission, sync_permission

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 5 * 60 * 1000
AFTER_SAVE_DELAY_MS = 3000


class _Worker(QObject):
    finished = Signal(object)  # SyncReport
    ask_deletes = Signal(list)
    job_done = Signal(object, object)  # callback, result (or the exception raised)

    def __init__(self, engine: SyncEngine, lock: threading.Lock) -> None:
        super().__init__()
        self.engine = engine
        self.lock = lock
        self.answer = False

    @Slot()
    def run(self) -> None:
        with self.lock:
            try:
                report = self.engine.sync_once()
            except Exception as exc:  # a bug must surface as a failed round, not a dead thread
                log.exception("sync round crashed")
                report = SyncReport(error=f"Sync stopped unexpectedly: {exc}")
        self.finished.emit(report)

    @Slot()
    def run_job(self, job: Callable[[], object], callback: Callable[[object], None]) -> None:
        with self.lock:
            try:
                result: object = job()
            except Exception as exc:  # handed to the callback, which explains it
                result = exc
        self.job_done.emit(callback, result)

    def confirm(self, paths: list[str]) -> bool:
        self.ask_deletes.emit(paths)  # blocks until the GUI thread has answered
        return self.answer


class SyncController(QObject):
    started = Signal()
    finished = Signal(object)  # SyncReport
    conflicts_found = Signal(list)  # paths of new conflict copies
    files_changed = Signal(list)  # paths the editor should reload
    blocked = Signal(str)  # licensing said no; the reason in plain words

    def __init__(
        self,
        engine: SyncEngine,
        confirm_deletes: Callable[[list[str]], bool],
        parent: QObject | None = None,
        interval_ms: int = DEFAULT_INTERVAL_MS,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.engine_lock = threading.Lock()
        self.confirm_deletes = confirm_deletes
        self.held_paths: Callable[[], list[str]] = lambda: []
        #: Documents open in the editor: after a conflict they keep this device's text.
        self.open_paths: Callable[[], list[str]] = lambda: []
        self.permission: Callable[[], SyncPermission] = sync_permission
        self.history: list[tuple[float, SyncReport]] = engine.recent_rounds()
        self.last_report: SyncReport | None = None
        self._running = False
        self._again = False
        self._thread = QThread()
        self._thread.setObjectName("sync")
        self._worker = _Worker(engine, self.engine_lock)
        self._worker.moveToThread(self._thread)
        self._worker.finished.connect(self._on_finished)
        # A bound method, not a lambda: PySide runs a lambda slot in the emitting (sync)
        # thread, and the callbacks touch widgets.
        self._worker.job_done.connect(self._on_job_done)
        self._worker.ask_deletes.connect(
            self._answer_deletes, Qt.ConnectionType.BlockingQueuedConnection
        )
        engine.confirm_deletes = self._worker.confirm
        self._thread.start()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.sync_now)
        self.timer.start()
        self._after_save = QTimer(self)
        self._after_save.setSingleShot(True)
        self._after_save.setInterval(AFTER_SAVE_DELAY_MS)
        self._after_save.timeout.connect(self.sync_now)

    @property
    def running(self) -> bool:
        return self._running

    @Slot()
    def sync_now(self) -> None:
        if not self._running and not self.engine.enabled:
            return  # turned off on this device: the timer and saves do nothing
        permission = self.permission()
        if not permission.allowed:
            self.blocked.emit(permission.reason)  # e.g. the trial ended: files stay as they are
            return
        if self._running:
            self._again = True
            return
        self._running = True
        # Snapshot on the GUI thread: files with unsaved edits are left alone this round,
        # and open documents keep the writer's text when another device's edit conflicts.
        self.engine.hold = set(self.held_paths())
        self.engine.in_use = set(self.open_paths())
        self.started.emit()
        QTimer.singleShot(0, self._worker, self._worker.run)

    def run_job(self, job: Callable[[], object], callback: Callable[[object], None]) -> None:
        """Run ``job`` (engine work such as a restore) on the sync thread, after any round
        in progress; ``callback(result or exception)`` runs on the GUI thread."""
        QTimer.singleShot(0, self._worker, lambda: self._worker.run_job(job, callback))

    @Slot()
    def document_saved(self) -> None:
        """Call after each save: a round starts once saves pause for a few seconds."""
        self._after_save.start()

    @Slot(object, object)
    def _on_job_done(self, callback: Callable[[object], None], result: object) -> None:
        callback(result)

    def _answer_deletes(self, paths: list[str]) -> None:
        self._worker.answer = bool(self.confirm_deletes(paths))

    def _on_finished(self, report: SyncReport) -> None:
        self._running = False
        self.last_report = report
        self.history.append((time.time(), report))
        del self.history[:-200]
        if report.changed_paths:
            self.files_changed.emit(report.changed_paths)
        if report.conflicts:
            self.conflicts_found.emit(list(report.conflicts))
        self.finished.emit(report)
        if self._again:
            self._again = False
            self.sync_now()

    def shutdown(self) -> None:
        """Stop the timer and the thread (a running round stops its transfers and ends)."""
        self.timer.stop()
        self._after_save.stop()
        self.engine.stop()
        self._thread.quit()
        self._thread.wait()
