"""Handing the interpreter lock over from a background thread.

A thread in a long Python loop (parsing a dictionary, counting a library's words, searching it)
keeps the interpreter lock until CPython's switch interval (5 ms) has passed, and the GUI
thread waits for it meanwhile: a frame is 16 ms. Such loops call ``hand_over()`` between pieces
of their work, so a waiting thread (the GUI's) takes the lock at once."""

from __future__ import annotations

import time


def hand_over() -> None:
    """Let a thread waiting for the interpreter lock run now (a no-op when none waits)."""
    time.sleep(0)
