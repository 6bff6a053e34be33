"""The AI model in a process of its own, so loading and running it never holds the editor's
interpreter lock.

Loading the model in the editor's process froze the event loop (typing included) for up to
~0.25 s at a time: ``tokenizers`` parses the tokenizer without ever releasing the lock, and
onnxruntime's session creation holds it too. ``ModelProcess.load`` starts ``python -m
desktop.ui.model_process`` (the installed app: its own binary with ``--model-process``), loads
the model there and offers the part of ``LocalModel`` the model thread uses: ``run`` and
``warm`` (streaming, restarts, cancel), ``tokens_per_second``, ``weak_tasks()``,
``device_report.label()`` / ``.gpu_hint()`` and ``folder.path`` / ``.name``. Messages are
length-prefixed pickles over the child's stdin and stdout (private pipes between two copies
of this program).

- Cancel: ``run`` and ``warm`` watch the caller's event and tell the child, which sets the
  runtime's own cancel flag; the result comes back cancelled, as in the editor's process.
- A crash of the model's process: the call raises ``ModelProcessGone`` (a plain message for
  the writer); the editor keeps working.
- No orphans: the child reads its stdin on a thread and ends itself when that pipe closes,
  which the system does when the editor exits, crashes or is killed (kill -9 included).
  ``close()`` ends it at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from inference.runtime import (
    GenerationRequest,
    RuntimeErrorBase,
    RuntimeSettings,
    Task,
    TaskResult,
)

logger = logging.getLogger(__name__)

# The installed (frozen) app has no Python to run ``-m`` with: its own binary takes this flag.
MODEL_PROCESS_FLAG = "--model-process"
CANCEL_POLL_SECONDS = 0.02  # how often a waiting call looks at the caller's cancel event
CLOSE_WAIT_SECONDS = 2.0
_HEADER = struct.Struct("<Q")
_GONE: Final = ("gone",)
_WAITING: Final = ("waiting",)
GONE_MESSAGE = (
    "The AI model stopped unexpectedly. Your text is safe; AI help loads the model again."
)


class ModelProcessGone(RuntimeErrorBase):
    """The model's process ended (crashed, killed or closed) while the editor needed it."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(GONE_MESSAGE)
        self.detail = detail


class ModelProcessError(RuntimeErrorBase):
    """The runtime in the model's process refused a request, in its own plain words."""


def send(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """One message; raises ``EOFError`` when the other side is gone."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


# ----- the editor's side ----------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteDeviceReport:
    """What the editor shows of the loaded model's ``DeviceReport``."""

    device_label: str
    hint: str

    def label(self) -> str:
        return self.device_label

    def gpu_hint(self) -> str:
        return self.hint


@dataclass(frozen=True)
class RemoteFolder:
    path: Path
    name: str


def command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, MODEL_PROCESS_FLAG]
    return [sys.executable, "-m", "desktop.ui.model_process"]


def _child_environment() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # this source tree, importable by -m
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class ModelProcess:
    """A loaded model in its own process. Not thread-safe: one caller (the model thread)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._to_child = process.stdin
        self._replies: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read, args=(process.stdout,), name="model-process-reader", daemon=True
        )
        self._reader.start()
        self._jobs = 0
        self.tokens_per_second = 0.0
        self.device_report = RemoteDeviceReport("", "")
        self.folder = RemoteFolder(Path(), "")
        self._weak: dict[Task, str] = {}

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def load(
        cls, path: str | Path | None = None, settings: RuntimeSettings | None = None
    ) -> ModelProcess:
        """Start the model's process and load the model there; a failure raises
        ``ModelProcessError`` with the runtime's message (or saying the process could not
        start)."""
        process = subprocess.Popen(
            command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_child_environment(),
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console
        )
        model = cls(process)
        try:
            where = Path(path).absolute() if path is not None else None
            reply = model._call(("load", 0, where, settings), None)
        except ModelProcessGone as gone:  # it could not even start: say so, not "again"
            model.close()
            raise ModelProcessError(f"The AI model could not be started ({gone.detail}).") from gone
        except BaseException:
            model.close()
            raise
        assert reply is not None
        info: dict[str, Any] = reply[2]
        model.device_report = RemoteDeviceReport(info["label"], info["gpu_hint"])
        model.folder = RemoteFolder(Path(info["folder"]), info["name"])
        model._weak = dict(info["weak_tasks"])
        return model

    def weak_tasks(self) -> dict[Task, str]:
        return dict(self._weak)

    def run(
        self,
        request: GenerationRequest,
        *,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        on_restart: Callable[[str], None] | None = None,
    ) -> TaskResult:
        """``LocalModel.run`` in the model's process (same streaming, restarts, cancel)."""
        message = ("run", self._new_job(), request, on_text is not None, on_restart is not None)
        reply = self._call(message, cancel, on_text=on_text, on_restart=on_restart)
        assert reply is not None
        result, self.tokens_per_second = reply[2], reply[3]
        assert isinstance(result, TaskResult)
        return result

    def warm(self, request: GenerationRequest, cancel: threading.Event | None = None) -> int:
        """Prefill ``request``'s prompt there; a cancel returns 0 at once (the model's
        process stops the prefill by itself; a window closing never waits for it)."""
        reply = self._call(("warm", self._new_job(), request), cancel, abandon_on_cancel=True)
        return 0 if reply is None else int(reply[2])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """End the model's process (closing its stdin ends it; killed if it hangs)."""
        with contextlib.suppress(OSError, ValueError):
            self._to_child.close()
        try:
            self.process.wait(CLOSE_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    # -- plumbing --------------------------------------------------------------------------

    def _new_job(self) -> int:
        self._jobs += 1
        return self._jobs

    def _read(self, stream: IO[bytes]) -> None:
        try:
            while True:
                self._replies.put(receive(stream))
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            self._replies.put((*_GONE, type(error).__name__))

    def _next_reply(self, timeout: float) -> tuple[Any, ...]:
        try:
            return self._replies.get(timeout=timeout)
        except queue.Empty:
            return _WAITING

    def _call(
        self,
        message: tuple[Any, ...],
        cancel: threading.Event | None,
        *,
        on_text: Callable[[str], None] | None = None,
        on_restart: Callable[[str], None] | None = None,
        abandon_on_cancel: bool = False,
    ) -> tuple[Any, ...] | None:
        """Send ``message`` and follow its replies to the end (None: cancelled and
        ``abandon_on_cancel``); the caller's cancel is passed on."""
        job = message[1]
        try:
            send(self._to_child, message)
        except (OSError, ValueError) as error:
            raise ModelProcessGone(str(error)) from error
        told = False
        while True:
            if cancel is not None and not told and cancel.is_set():
                told = True
                with contextlib.suppress(OSError, ValueError):  # gone: the reply says so
                    send(self._to_child, ("cancel", job))
                if abandon_on_cancel:
                    return None
            reply = self._next_reply(CANCEL_POLL_SECONDS)
            kind = reply[0]
            if kind == _WAITING[0]:
                continue
            if kind == _GONE[0]:
                self._replies.put(reply)  # every later call fails the same way
                raise ModelProcessGone(f"exit code {self.process.poll()}")
            if reply[1] != job:
                continue  # a reply to a call abandoned earlier
            if kind == "text" and on_text is not None:
                on_text(reply[2])
            elif kind == "restart" and on_restart is not None:
                on_restart(reply[2])
            elif kind == "refused":
                raise ModelProcessError(reply[2])
            elif kind == "error":
                raise RuntimeError(reply[2])
            elif kind == "done":
                return reply


# ----- the model's process --------------------------------------------------------------------


class _Server:
    def __init__(self, replies: IO[bytes]) -> None:
        self.replies = replies
        self.work: queue.Queue[tuple[tuple[Any, ...], threading.Event]] = queue.Queue()
        self.cancels: dict[int, threading.Event] = {}
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.model: Any = None  # LocalModel once loaded

    def listen(self, requests: IO[bytes]) -> None:
        """The reader thread: queue work, set cancels; the editor gone ends the process."""
        try:
            while True:
                message = receive(requests)
                if message[0] == "cancel":
                    with self.lock:
                        event = self.cancels.get(message[1])
                    if event is not None:
                        event.set()
                    continue
                event = threading.Event()
                with self.lock:
                    self.cancels[message[1]] = event
                self.work.put((message, event))
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        os._exit(0)  # the editor closed the pipe, exited or died: never outlive it

    def reply(self, *message: object) -> None:
        with self.write_lock:
            send(self.replies, message)

    def serve(self) -> None:
        while True:
            message, cancel = self.work.get()
            kind, job = message[0], message[1]
            try:
                self.handle(kind, job, message, cancel)
            except RuntimeErrorBase as error:
                self.reply("refused", job, str(error) or type(error).__name__)
            except Exception as error:  # the editor shows it; this process carries on
                logger.exception("The model's process failed a request")
                self.reply("error", job, str(error) or type(error).__name__)
            finally:
                with self.lock:
                    self.cancels.pop(job, None)

    def handle(self, kind: str, job: int, message: tuple[Any, ...], cancel: Any) -> None:
        from inference.runtime import LocalModel

        if kind == "load":
            self.model = None  # the old one's memory goes before the new one loads
            model = LocalModel.load(message[2], message[3])
            try:
                weak = dict(model.weak_tasks())
            except Exception as error:  # a missing measurement only costs the menu notes
                logger.info("Could not read the model's weak tasks: %s", type(error).__name__)
                weak = {}
            self.model = model
            info = {
                "label": model.device_report.label(),
                "gpu_hint": model.device_report.gpu_hint(),
                "folder": str(model.folder.path),
                "name": model.folder.name,
                "weak_tasks": weak,
            }
            self.reply("done", job, info)
            return
        if self.model is None:
            raise ModelProcessError("The model is not loaded.")
        if kind == "warm":
            self.reply("done", job, self.model.warm(message[2], cancel))
            return
        if kind == "run":
            _, _, request, stream, restarts = message
            result = self.model.run(
                request,
                on_text=(lambda piece: self.reply("text", job, piece)) if stream else None,
                cancel=cancel,
                on_restart=(lambda why: self.reply("restart", job, why)) if restarts else None,
            )
            self.reply("done", job, result, self.model.tokens_per_second)
            return
        raise ValueError(f"unknown request {kind!r}")


def serve() -> int:
    """The model process's main: requests on stdin, replies on stdout."""
    logging.basicConfig(level=logging.WARNING)
    # The pipes are file descriptors 0 and 1 (a windowed frozen app may have no sys.stdin or
    # sys.stdout objects for them). Replies get a copy of 1; anything a library prints to 1
    # goes to stderr instead, so it can never corrupt a reply.
    replies = os.fdopen(os.dup(1), "wb")
    try:
        os.dup2(2, 1)
    except OSError:  # no stderr either
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    requests = os.fdopen(0, "rb", closefd=False)
    server = _Server(replies)
    threading.Thread(target=server.listen, args=(requests,), name="requests", daemon=True).start()
    server.serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(serve())
