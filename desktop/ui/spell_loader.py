"""Loads a spelling dictionary in a background thread (it takes a few hundred ms), so
start-up and typing never wait for it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

logger = logging.getLogger(__name__)


class SpellLoader(QObject):
    loaded = Signal(object)  # SpellDictionary
    failed = Signal(str)

    def load(self, language: str, personal_path: Path) -> None:
        thread = threading.Thread(
            target=self._run, args=(language, personal_path), name="spell-loader", daemon=True
        )
        thread.start()

    def _run(self, language: str, personal_path: Path) -> None:
        try:
            from desktop import paths
            from desktop.library.spelling import SpellDictionary

            dictionary = SpellDictionary(language, personal_path, paths.cache_dir() / "spelling")
        except Exception as exc:
            logger.warning("Spell check unavailable: %s", exc)
            self.failed.emit(f"Spell check is unavailable for “{language}”: {exc}")
            return
        self.loaded.emit(dictionary)
