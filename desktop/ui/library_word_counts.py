"""Fills the sidebar's word counts from a background thread, so a big library's tree appears
at once and the event loop never waits for thousands of documents to be read.

The library's persistent cache (``Library.word_count``) makes a restart cheap: unchanged files
cost a ``stat``. Results come back in batches by a queued signal; a newer ``start`` makes the
results of an older pass stale (dropped)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from desktop.interpreter_lock import hand_over
from desktop.library import Library

logger = logging.getLogger(__name__)

BATCH_SECONDS = 0.1
# A batch of 300 took the GUI thread 4-10 ms while the counting and spelling threads competed
# for the interpreter lock (with the wait for the lock, over a frame); 100 take a third of that.
BATCH_DOCUMENTS = 100
REMEMBERED_PAUSE_SECONDS = 0.005  # between batches of remembered counts (100 for 10,000)
SAVE_EVERY_SECONDS = 5  # a first start closed before every document was counted keeps most


class LibraryWordCounts(QObject):
    counted = Signal(int, object)  # pass number, list[tuple[str, int]] (path, words)
    finished = Signal(int)  # pass number

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._pass = 0
        self._thread: threading.Thread | None = None
        self._waiting: tuple[int, list[Path | str]] | None = None  # a pass not started yet
        self._start_timer = QTimer(self, singleShot=True)
        self._start_timer.timeout.connect(self._start_waiting)

    @property
    def current_pass(self) -> int:
        return self._pass

    def start(self, documents: Sequence[Path | str], *, delay_ms: int = 0) -> int:
        """Count ``documents`` in the background (after ``delay_ms``: at start-up the thread
        would compete with building the window); returns this pass's number."""
        self._pass += 1
        self._waiting = (self._pass, list(documents))
        if delay_ms > 0:
            self._start_timer.start(delay_ms)
        else:
            self._start_waiting()
        return self._pass

    def postpone(self, delay_ms: int) -> None:
        """A pass still waiting to start waits ``delay_ms`` from now (the GUI thread is busy
        with start-up work the counting thread would compete with)."""
        if self._waiting is not None and self._start_timer.isActive():
            self._start_timer.start(delay_ms)

    def _start_waiting(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is None:
            return
        if shiboken6.isValid(self._start_timer):  # ``wait`` may come after the owner went
            self._start_timer.stop()
        if waiting[0] != self._pass:
            return  # a newer pass replaced it
        self._thread = threading.Thread(
            target=self._count, args=waiting, name="word-counts", daemon=True
        )
        self._thread.start()

    def recount(self, documents: Sequence[Path | str]) -> None:
        """Check a few documents again (a folder changed) within the current pass: a pass
        still counting the whole library carries on."""
        number = self._pass
        self._thread = threading.Thread(
            target=self._count,
            args=(number, list(documents)),
            kwargs={"whole_library": False},
            name="word-counts",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Make the running pass stale (it stops at its next document) and keep what it
        counted so far for the next start."""
        self._pass += 1
        self.library.save_word_counts()

    def wait(self, timeout: float | None = None) -> bool:
        """For tests and benchmarks: True once the running pass has finished (a pass still
        waiting for its delay starts now)."""
        self._start_waiting()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _count(
        self, number: int, documents: list[Path | str], *, whole_library: bool = True
    ) -> None:
        try:
            self._count_pass(number, documents, whole_library)
        except RuntimeError:  # the window (and this object) went away mid-pass: nobody to tell
            if shiboken6.isValid(self):
                raise

    def _count_pass(self, number: int, documents: list[Path | str], whole_library: bool) -> None:
        # What the cache remembers first (it is read here, off the GUI thread, at start-up),
        # then every document checked against its file.
        remembered = list(self.library.remembered_word_counts([str(d) for d in documents]).items())
        for start in range(0, len(remembered), BATCH_DOCUMENTS):
            if number != self._pass:
                return
            self.counted.emit(number, remembered[start : start + BATCH_DOCUMENTS])
            # Batches queued together are shown back to back, with no event in between.
            time.sleep(REMEMBERED_PAUSE_SECONDS)
        batch: list[tuple[str, int]] = []
        sent = saved = time.monotonic()
        for document in documents:
            if number != self._pass:
                return
            batch.append((str(document), self.library.word_count(Path(document))))
            hand_over()  # between documents
            if len(batch) >= BATCH_DOCUMENTS or time.monotonic() - sent >= BATCH_SECONDS:
                self.counted.emit(number, batch)
                batch, sent = [], time.monotonic()
            if sent - saved >= SAVE_EVERY_SECONDS:
                self.library.save_word_counts()
                saved = sent
        if batch:
            self.counted.emit(number, batch)
        if not whole_library:
            return
        self.library.save_word_counts({Path(document) for document in documents})
        self.finished.emit(number)
