"""Per-address limits on key lookups, so keys cannot be enumerated.

Two sliding windows per client address: all lookups (a generous per-minute budget) and
failed lookups (unknown or malformed keys, a small budget over a longer window). Kept in
process memory: run one server process, or put a shared limiter in front of several.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindow:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, hits: deque[float], now: float) -> None:
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()

    def retry_after(self, client: str, now: float | None = None) -> float:
        """Seconds until ``client`` may try again (0 when allowed now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(client)
            if not hits:
                return 0.0
            self._trim(hits, now)
            if len(hits) < self.limit:
                return 0.0
            return max(0.0, hits[0] + self.window_s - now)

    def add(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            self._trim(hits, now)
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle addresses; memory stays bounded
                for other in [c for c, h in self._hits.items() if not h]:
                    del self._hits[other]


class LookupLimiter:
    def __init__(self, per_minute: int, failures: int, failure_window_s: float) -> None:
        self.all = SlidingWindow(per_minute, 60.0)
        self.failed = SlidingWindow(failures, failure_window_s)

    def check(self, client: str) -> float:
        """Record one lookup; the seconds to wait when over a limit (then nothing is recorded)."""
        wait = max(self.failed.retry_after(client), self.all.retry_after(client))
        if wait > 0:
            return wait
        self.all.add(client)
        return 0.0

    def failure(self, client: str) -> None:
        self.failed.add(client)
