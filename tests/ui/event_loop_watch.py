"""How long the GUI thread was held: a precise 2 ms timer ticks while the event loop runs, so
the longest gap between two ticks is the longest time a keystroke would have waited.

``longest`` is wall-clock: what the writer feels. On a machine busy with other work it also
holds the time the GUI thread was ready to run but had no CPU; Linux counts that time per
thread (``/proc/thread-self/schedstat``), and ``longest_own`` leaves it out: the time held by
this program's own work, waits for the interpreter lock, disk and other threads included.

A tick costs the GUI thread one interpreter-lock acquisition and one system call (a read of a
file opened once): while other threads run Python, every extra release and re-acquisition of
the lock (an open, a read, a close) would wait its turn and lengthen the gaps measured."""

from __future__ import annotations

import faulthandler
import itertools
import os
import time
from typing import TextIO

from PySide6.QtCore import Qt, QTimer

SCHEDSTAT = "/proc/thread-self/schedstat"


class CpuWait:
    """Seconds the thread that made this was ready to run but had no CPU (Linux; else 0)."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open(SCHEDSTAT, os.O_RDONLY)
        except OSError:
            self._fd = None  # not Linux: ``longest_own`` is wall-clock

    def __call__(self) -> float:
        if self._fd is None:
            return 0.0
        try:
            return int(os.pread(self._fd, 128, 0).split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class EventLoopWatch:
    """Started on the GUI thread. With ``dump_to``, every gap longer than ``dump_after`` seconds
    also writes every thread's Python stack to that file at that moment (faulthandler's
    watchdog, re-armed each tick): what the other threads were doing while the GUI thread
    could not run. Re-arming costs each tick a little: leave it off for figures."""

    def __init__(self, dump_to: TextIO | None = None, dump_after: float = 0.016) -> None:
        self._dump_to, self._dump_after = dump_to, dump_after
        self._waiting_for_a_cpu = CpuWait()
        self._waiting_for_a_cpu.close()  # opened by ``start``, on the thread it measures
        self._ticks: list[tuple[float, float]] = []
        self._timer = QTimer(interval=2, timerType=Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self.longest = 0.0
        self.longest_own = 0.0
        self.longest_after = 0.0  # seconds from ``start`` to the beginning of the longest gap

    def _tick(self) -> None:
        self._ticks.append((time.perf_counter(), self._waiting_for_a_cpu()))
        if self._dump_to is not None:
            faulthandler.dump_traceback_later(self._dump_after, file=self._dump_to)

    def start(self) -> None:
        self._waiting_for_a_cpu = CpuWait()
        self._ticks = []
        self._tick()
        self._timer.start()

    def stop(self) -> None:
        """Takes in the gaps since ``start`` (the last one runs up to now)."""
        self._timer.stop()
        self._tick()
        if self._dump_to is not None:
            faulthandler.cancel_dump_traceback_later()
        self._waiting_for_a_cpu.close()
        for (wall_a, queued_a), (wall_b, queued_b) in itertools.pairwise(self._ticks):
            if wall_b - wall_a > self.longest:
                self.longest, self.longest_after = wall_b - wall_a, wall_a - self._ticks[0][0]
            self.longest_own = max(self.longest_own, wall_b - wall_a - (queued_b - queued_a))
