"""The model's own thread: loads the model and runs one generation at a time off the GUI
thread, streaming text back by signal.

By default the model itself lives in a process of its own (``model_process.ModelProcess``):
loading it there never holds this process's interpreter lock, so typing never waits for the
tokenizer or onnxruntime. The thread here waits on that process; ``separate_process=False``
loads a ``LocalModel`` right in this thread instead (tests that look inside the model).

``ModelHost`` lives on the GUI thread and hands out jobs; a new job cancels the one before it
(``threading.Event``), and ``shutdown()`` cancels and joins the thread, so closing the window
mid-generation leaves nothing running."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot

from desktop.ui.model_process import GONE_MESSAGE, ModelProcess, ModelProcessGone
from inference.runtime import (
    AnswerCheck,
    GenerationRequest,
    RuntimeErrorBase,
    RuntimeSettings,
    StopReason,
    Task,
    TaskResult,
)

logger = logging.getLogger(__name__)

JOIN_TIMEOUT_MS = 15_000
MAX_PROCESS_RESTARTS = 3


@dataclass(frozen=True)
class JobResult:
    job_id: int
    text: str
    stop_reason: StopReason
    tokens_per_second: float
    reused_tokens: int = 0  # prompt tokens found in the cache (warmed or from the last request)
    check: AnswerCheck = field(default_factory=AnswerCheck)  # the answer's verdict

    @property
    def cancelled(self) -> bool:
        return self.stop_reason is StopReason.CANCELLED


class _CancelFlag:
    """The newest job's cancel event. Plain Python, so the shutdown hook can reach it after
    the Qt objects around it are gone (and without keeping the host alive)."""

    def __init__(self) -> None:
        self.event: threading.Event | None = None

    def set(self) -> None:
        if self.event is not None:
            self.event.set()

    def is_set(self) -> bool:
        return self.event is not None and self.event.is_set()

    def renew(self) -> threading.Event:
        self.event = threading.Event()
        return self.event


def _stop_thread(thread: QThread, flag: _CancelFlag, worker: ModelWorker) -> None:
    flag.set()
    if shiboken6.isValid(thread) and thread.isRunning():  # not already gone at exit
        thread.quit()
        if not thread.wait(JOIN_TIMEOUT_MS):
            logger.warning("The model thread did not stop within %d ms", JOIN_TIMEOUT_MS)
    worker.end()


class _DeviceFacts(Protocol):
    def label(self) -> str: ...

    def gpu_hint(self) -> str: ...


class _FolderFacts(Protocol):
    @property
    def path(self) -> Path: ...

    @property
    def name(self) -> str: ...


class LoadedModel(Protocol):
    """What the model thread uses of a model: a ``LocalModel`` or a ``ModelProcess``."""

    @property
    def folder(self) -> _FolderFacts: ...

    @property
    def device_report(self) -> _DeviceFacts: ...

    @property
    def tokens_per_second(self) -> float: ...

    def weak_tasks(self) -> dict[Task, str]: ...

    def run(
        self,
        request: GenerationRequest,
        *,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        on_restart: Callable[[str], None] | None = None,
    ) -> TaskResult: ...

    def warm(self, request: GenerationRequest, cancel: threading.Event | None = None) -> int: ...


class ModelWorker(QObject):
    """Owned by the model thread. Never touches widgets."""

    loaded = Signal(str)  # device label
    load_failed = Signal(str)
    chunk = Signal(int, str)  # job id, text piece
    finished = Signal(object)  # JobResult
    failed = Signal(int, str)  # job id, message
    warmed = Signal(int)  # prompt tokens now cached
    restarted = Signal(int, str)  # job id, why: the answer so far failed its check; discard it
    weak_tasks = Signal(object)  # dict[Task, str] for the loaded model (before ``loaded``)
    gpu_hint = Signal(str)  # what to install for an unused NVIDIA card, or "" (before ``loaded``)
    model_info = Signal(object, str)  # the loaded model's folder and name (before ``loaded``)
    reloading = Signal()  # the model's process died; loading the model again

    def __init__(self, *, separate_process: bool = True) -> None:
        super().__init__()
        self.separate_process = separate_process
        self.model: LoadedModel | None = None
        self._last_load: tuple[Path | None, RuntimeSettings | None] | None = None
        self.process_restarts = 0  # reloads after the model's process died
        self._ended = False

    @Slot(object, object)
    def load(self, path: Path | None, settings: RuntimeSettings | None) -> None:
        self.close_model()  # one model at a time: the old process's memory goes first
        self._last_load = (path, settings)
        try:
            if self.separate_process:
                self.model = ModelProcess.load(path, settings)
            else:  # numpy and onnxruntime in the editor's process: tests only
                from inference.runtime.local_model import LocalModel

                self.model = LocalModel.load(path, settings)
        except Exception as error:  # shown to the writer, in the runtime's own words
            logger.warning("The model could not be loaded: %s", error)
            self.load_failed.emit(str(error) or type(error).__name__)
            return
        try:
            weak = dict(self.model.weak_tasks())
        except Exception as error:  # a missing measurement only costs the menu notes
            logger.info("Could not read the model's weak tasks: %s", type(error).__name__)
            weak = {}
        self.weak_tasks.emit(weak)
        self.gpu_hint.emit(self.model.device_report.gpu_hint())
        self.model_info.emit(self.model.folder.path, self.model.folder.name)
        self.loaded.emit(self.model.device_report.label())

    @Slot(int, object, object)
    def generate(self, job_id: int, request: GenerationRequest, cancel: threading.Event) -> None:
        if cancel.is_set():  # superseded while it waited in the queue
            self.finished.emit(JobResult(job_id, "", StopReason.CANCELLED, 0.0))
            return
        if self.model is None:
            self.failed.emit(job_id, "The model is not loaded.")
            return
        try:
            result = self.model.run(
                request,
                on_text=lambda piece: self.chunk.emit(job_id, piece),
                cancel=cancel,
                on_restart=lambda reason: self.restarted.emit(job_id, reason),
            )
        except ModelProcessGone as error:
            logger.warning("The model's process ended: %s", error.detail)
            self.failed.emit(job_id, str(error))
            self._reload_after_crash()
            return
        except RuntimeErrorBase as error:  # a request the runtime refuses, in plain words
            self.failed.emit(job_id, str(error))
            return
        except Exception as error:
            logger.exception("Generation failed")
            self.failed.emit(job_id, f"The model could not write an answer: {error}")
            return
        self.finished.emit(
            JobResult(
                job_id,
                result.text,
                result.stop_reason,
                self.model.tokens_per_second,
                result.stats.reused_tokens,
                result.check,
            )
        )

    @Slot(object, object)
    def warm(self, request: GenerationRequest, cancel: threading.Event) -> None:
        if cancel.is_set() or self.model is None:
            return
        try:
            cached = self.model.warm(request, cancel)
        except ModelProcessGone as error:
            logger.warning("The model's process ended: %s", error.detail)
            self._reload_after_crash()
            return
        except Exception as error:  # a failed warm-up only costs speed later
            logger.info("Warming the prompt cache failed: %s", type(error).__name__)
            return
        self.warmed.emit(cached)

    def _reload_after_crash(self) -> None:
        """The model's process died: load the model again (a few times per session), so AI
        help comes back by itself; the status bar says "loading" meanwhile."""
        self.close_model()
        if self._ended:
            return
        if self._last_load is None or self.process_restarts >= MAX_PROCESS_RESTARTS:
            self.load_failed.emit(GONE_MESSAGE.split(". ")[0] + ".")
            return
        self.process_restarts += 1
        self.reloading.emit()
        self.load(*self._last_load)

    def end(self) -> None:
        """For good (the window is gone): end the model's process, never load it again."""
        self._ended = True
        self.close_model()

    def close_model(self) -> None:
        """End the model's process (if it has one) and forget the model."""
        model, self.model = self.model, None
        if isinstance(model, ModelProcess):
            model.close()


class ModelHost(QObject):
    """The GUI side: starts the thread, queues loading and jobs, cancels, shuts down.

    Its signals repeat the worker's on the GUI thread (connect widgets and tests here)."""

    loaded = Signal(str)
    load_failed = Signal(str)
    chunk = Signal(int, str)
    finished = Signal(object)
    failed = Signal(int, str)
    warmed = Signal(int)
    restarted = Signal(int, str)  # job id, reason: drop what was streamed, it is written again
    reloading = Signal()  # the model's process died; the model is loading again
    _load_requested = Signal(object, object)
    _warm_requested = Signal(object, object)
    _generate_requested = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None, *, separate_process: bool = True) -> None:
        super().__init__(parent)
        self.model_thread = QThread()
        self.model_thread.setObjectName("draftsmith-model")
        self.worker = ModelWorker(separate_process=separate_process)
        self._cancel = _CancelFlag()
        self.worker.moveToThread(self.model_thread)
        self._load_requested.connect(self.worker.load)
        self._generate_requested.connect(self.worker.generate)
        self._warm_requested.connect(self.worker.warm)
        self.worker.warmed.connect(self._on_warmed)
        if parent is not None:
            # Deleted without a close (or before shutdown): still stop and join, using only
            # Python-side state, since the Qt objects around it are going away.
            thread, flag, worker = self.model_thread, self._cancel, self.worker
            parent.destroyed.connect(lambda *_args: _stop_thread(thread, flag, worker))
        self._next_id = 0
        self.current_job: int | None = None
        self.worker.loaded.connect(self._on_loaded)
        self.worker.load_failed.connect(self._on_load_failed)
        self.worker.chunk.connect(self._on_chunk)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.restarted.connect(self._on_restarted)
        self.worker.reloading.connect(self.reloading)
        self.worker.weak_tasks.connect(self._on_weak_tasks)
        self.weak_tasks: dict[Task, str] = {}  # the loaded model's tasks it does poorly, noted
        self.worker.gpu_hint.connect(self._on_gpu_hint)
        self.gpu_hint = ""  # the loaded model's DeviceReport.gpu_hint()
        self.worker.model_info.connect(self._on_model_info)
        self.model_folder: Path | None = None  # the loaded model's folder
        self.model_name = ""

    def _ensure_running(self) -> None:
        if not self.model_thread.isRunning():
            self.model_thread.start(QThread.Priority.LowPriority)

    def load(self, path: Path | None = None, settings: RuntimeSettings | None = None) -> None:
        self._ensure_running()
        self._load_requested.emit(path, settings)

    def submit(self, request: GenerationRequest) -> int:
        """Cancel whatever runs now and queue ``request``; returns the new job's id."""
        self.cancel()
        self._ensure_running()
        self._next_id += 1
        cancel = self._cancel.renew()
        self.current_job = self._next_id
        self._generate_requested.emit(self._next_id, request, cancel)
        return self._next_id

    def warm(self, request: GenerationRequest) -> bool:
        """Prefill ``request``'s prompt while idle; the next job cancels it. False when busy."""
        if self.busy():
            return False
        self._cancel.set()  # an older warm-up is stale now
        self._ensure_running()
        self._warm_requested.emit(request, self._cancel.renew())
        return True

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel the running job (only if it is ``job_id`` when given)."""
        if job_id is not None and job_id != self.current_job:
            return
        self._cancel.set()
        self.current_job = None

    def busy(self) -> bool:
        return self.current_job is not None

    def _on_loaded(self, device_label: str) -> None:
        self.loaded.emit(device_label)

    def _on_load_failed(self, message: str) -> None:
        self.load_failed.emit(message)

    def _on_weak_tasks(self, weak: dict[Task, str]) -> None:
        self.weak_tasks = weak

    def _on_gpu_hint(self, hint: str) -> None:
        self.gpu_hint = hint

    def _on_model_info(self, folder: Path, name: str) -> None:
        self.model_folder, self.model_name = folder, name

    def _on_restarted(self, job_id: int, reason: str) -> None:
        self.restarted.emit(job_id, reason)

    def _on_warmed(self, cached: int) -> None:
        self.warmed.emit(cached)

    def _on_chunk(self, job_id: int, piece: str) -> None:
        self.chunk.emit(job_id, piece)

    def _on_finished(self, result: JobResult) -> None:
        if result.job_id == self.current_job:
            self.current_job = None
        self.finished.emit(result)

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id == self.current_job:
            self.current_job = None
        self.failed.emit(job_id, message)

    def shutdown(self) -> bool:
        """Cancel, stop and join the model thread; True when it stopped in time. The model
        (and its process) stays loaded, so a refused close carries on with it; the process
        ends when the owner is deleted or the app exits."""
        self.cancel()
        if not self.model_thread.isRunning():
            return True
        self.model_thread.quit()
        stopped = self.model_thread.wait(JOIN_TIMEOUT_MS)
        if not stopped:
            logger.warning("The model thread did not stop within %d ms", JOIN_TIMEOUT_MS)
        return bool(stopped)
