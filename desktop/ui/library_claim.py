"""Claiming a library at start-up: take its lock, or ask what to do when another window
(or a crashed one) holds it."""

from __future__ import annotations

import logging

from desktop.library import Library, LibraryLockedError
from desktop.library.library_lock import LibraryLock
from desktop.ui.prompter import Prompter

logger = logging.getLogger(__name__)


def claim_library(library: Library, prompter: Prompter) -> tuple[LibraryLock, bool] | None:
    """Returns (lock, read_only), or None when the user chose to quit."""
    lock = LibraryLock(library.root)
    try:
        lock.acquire()
        return lock, False
    except LibraryLockedError as locked:
        hint = (
            " You can take it over."
            if locked.stale
            else " Opening it here read-only keeps both windows from overwriting each other."
        )
        choice = prompter.ask_locked(str(locked) + hint, locked.stale)
    except OSError as exc:
        logger.warning("Can't write the library lock (%s); opening read-only", exc)
        return lock, True
    if choice == "take_over":
        lock.take_over()
        return lock, False
    if choice == "read_only":
        return lock, True
    return None
