"""When backups happen: a full backup in a background thread a little after start-up and then
every few minutes while the library keeps changing; at close only what changed since the last
full backup (``backup_changes``), so closing never zips the whole library while the writer
waits. That close backup runs on the backup thread too (looking at every file of a 10,000-
document library alone takes a few tenths of a second): the window goes at once and the
process waits for it before it exits (``wait_for_close_backups``, and Python's own exit joins
the thread). A change set too big for that is finished by a separate process after the window
closes. Either way a backup no older than the session's end exists."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from desktop.library.backups import (
    CLOSE_BYTES_LIMIT,
    BackupCancelled,
    BackupTooLarge,
    back_up_after_exit,
    backup_changes,
    backup_library,
)

logger = logging.getLogger(__name__)

FIRST_BACKUP_SECONDS = 20
BACKUP_EVERY_MINUTES = 10

# Close backups still running, for the app to wait for before the process exits.
_CLOSING: set[Future[Path | None]] = set()


def wait_for_close_backups(timeout: float | None = None) -> bool:
    """Block until every close backup started so far is written; False on timeout."""
    pending = set(_CLOSING)
    done, not_done = wait_for_futures(pending, timeout=timeout)
    _CLOSING.difference_update(done)
    return not not_done


class BackupSchedule(QObject):
    def __init__(self, root: Path, destination: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = root
        self.destination = destination
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backup")
        self._running: Future[Path | None] | None = None
        self._closing = False
        self.first = QTimer(self, singleShot=True, interval=FIRST_BACKUP_SECONDS * 1000)
        self.first.timeout.connect(self.back_up_in_background)
        self.every = QTimer(self, interval=BACKUP_EVERY_MINUTES * 60 * 1000)
        self.every.timeout.connect(self.back_up_in_background)

    def start(self) -> None:
        self.first.start()
        self.every.start()

    def back_up_in_background(self) -> None:
        """A full backup (skipped when nothing changed since the last backup)."""
        if self._closing or (self._running is not None and not self._running.done()):
            return
        self._running = self._worker.submit(self._full)

    def _full(self) -> Path | None:
        try:
            return backup_library(self.root, self.destination, should_stop=self._is_closing)
        except BackupCancelled:
            return None
        except OSError as exc:
            logger.warning("Couldn't back up the library: %s", exc)
            return None

    def _is_closing(self) -> bool:
        return self._closing

    def wait(self) -> Path | None:
        """For tests: the result of the newest backup in flight (None if none)."""
        return self._running.result() if self._running is not None else None

    def finish(self) -> Future[Path | None]:
        """At close: back up what changed since the last full backup, on the backup thread
        (queued behind a full backup still running, so never two writers on the backup
        folder); returns at once. ``wait_for_close_backups`` waits for it."""
        if self._closing and self._running is not None:
            return self._running  # finished already
        self.first.stop()
        self.every.stop()
        # A full backup still zipping stops at its next file (nothing half-written is kept);
        # the changes backup covers what it would have.
        self._closing = True
        self._running = self._worker.submit(self._changes)
        _CLOSING.add(self._running)
        self._worker.shutdown(wait=False)  # the thread ends after the changes backup
        return self._running

    def _changes(self) -> Path | None:
        try:
            return backup_changes(self.root, self.destination, limit_bytes=CLOSE_BYTES_LIMIT)
        except BackupTooLarge as exc:
            logger.info("Backing up after the window closes: %s", exc)
            try:
                back_up_after_exit(self.root, self.destination)
            except OSError as error:
                logger.warning("Couldn't start the backup: %s", error)
        except OSError as exc:
            logger.warning("Couldn't back up the library on close: %s", exc)
        return None
