"""Notices a model that appears in the model cache while the app runs, or one rebuilt there.

A writer who builds the model from the command line (or copies one in) should not have to
restart: the cache folders are watched (``QFileSystemWatcher``) and, because a watch can miss
a folder that did not exist yet, looked at cheaply on a timer too. A change is reported once
the folder has stopped changing between two looks, so a half-copied model is never loaded."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from inference.model_cache import model_search_path
from inference.model_folder import MANIFEST_NAME

logger = logging.getLogger(__name__)

WATCH_INTERVAL_MS = 2_000
SETTLE_MS = 300  # after a folder event, look again this soon

Fingerprint = tuple[tuple[str, int, int], ...]


def model_fingerprint(model_path: Path | None = None) -> Fingerprint:
    """Name, size and modification time of every file of the model(s) the app would load:
    ``model_path`` when given, else every model folder in the search path. Cheap (a few
    ``stat`` calls), and any build, copy or rebuild changes it."""
    if model_path is not None:
        folders = [Path(model_path)]
    else:
        folders = []
        for root in model_search_path():
            try:
                folders += [c for c in root.iterdir() if (c / MANIFEST_NAME).is_file()]
            except OSError:
                continue  # no cache yet
    entries = []
    for folder in folders:
        try:
            for item in folder.iterdir():
                info = item.stat()
                entries.append((str(item), info.st_size, info.st_mtime_ns))
        except OSError:
            continue  # being replaced right now: the next look sees it
    return tuple(sorted(entries))


class ModelCacheWatch(QObject):
    """Emits ``changed`` when the model files differ from those of the last load."""

    changed = Signal()

    def __init__(
        self,
        model_path: Path | None = None,
        interval_ms: int = WATCH_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.model_path = model_path
        self.loaded_from = model_fingerprint(model_path)
        self._last_look = self.loaded_from
        self.settle_timer = QTimer(self)
        self.settle_timer.setSingleShot(True)
        self.settle_timer.setInterval(SETTLE_MS)
        self.settle_timer.timeout.connect(self.look)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _path: self.settle_timer.start())
        self.timer = QTimer(self)
        self.timer.setInterval(max(50, interval_ms))
        self.timer.timeout.connect(self.look)
        self._watch_folders()
        self.timer.start()

    def loading(self) -> None:
        """A load starts now: what is on disk now is what the app runs with."""
        self.loaded_from = self._last_look = model_fingerprint(self.model_path)

    def stop(self) -> None:
        self.timer.stop()
        self.settle_timer.stop()

    def look(self) -> None:
        self._watch_folders()
        now = model_fingerprint(self.model_path)
        if now != self._last_look:
            self._last_look = now  # still changing, perhaps: wait for a second, equal look
            self.settle_timer.start()
            return
        if now and now != self.loaded_from:
            self.loaded_from = now
            logger.info("The AI model in the cache changed")
            self.changed.emit()

    def _watch_folders(self) -> None:
        roots = [self.model_path] if self.model_path is not None else model_search_path()
        wanted = []
        for root in roots:
            path = Path(root)
            if path.is_dir():
                wanted.append(str(path))
            elif path.parent.is_dir():
                wanted.append(str(path.parent))  # the cache folder appears inside it
        missing = [p for p in wanted if p not in self.watcher.directories()]
        if missing:
            self.watcher.addPaths(missing)
