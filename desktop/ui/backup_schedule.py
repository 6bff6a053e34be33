"""When backups happen: a full backup in a background thread a little after start-up and then
every few minutes while the library keeps changing; at close only what changed since the last
full backup (``backup_changes``), so closing never zips the whole library while the writer
waits. A change set too big for that is finished by a separate process after the window
closes. Either way a backup no older than the session's end exists."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
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
        if self._running is not None and not self._running.done():
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
        """For tests: the result of the background backup in flight (None if none)."""
        return self._running.result() if self._running is not None else None

    def finish(self) -> Path | None:
        """At close: back up what changed since the last full backup."""
        self.first.stop()
        self.every.stop()
        if self._running is not None:
            # A full backup still zipping stops at its next file (nothing half-written is
            # kept); the changes backup below covers what it would have.
            self._closing = True
            self._running.result()  # never two writers on the same backup folder
        self._worker.shutdown(wait=False)
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
