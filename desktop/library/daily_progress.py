"""Today's words: how many words the writer added today across documents.

For each document the first word count seen today is its baseline; today's words are the sum
of (current - baseline), never negative per document. Stored per day in the state dir.

Words accepted from AI suggestions are counted apart (``add_ai_words``): the goal is about
the writer's own words, so ``words_written_today`` leaves them out and the status bar shows
"Today 116 written + 50 from AI".
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path

from desktop.library.atomic_write import atomic_write_text

logger = logging.getLogger(__name__)


class DailyProgress:
    def __init__(self, path: Path, today: date | None = None) -> None:
        self.path = Path(path)
        self._today = today
        self._day = ""
        self._baselines: dict[str, int] = {}
        self._current: dict[str, int] = {}
        self._ai: dict[str, int] = {}
        # Writes go through one thread, in order (a later save never lands before an earlier).
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="progress")
        self._load()

    def today(self) -> str:
        return (self._today or date.today()).isoformat()

    def _load(self) -> None:
        self._day = self.today()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        if isinstance(raw, dict) and raw.get("day") == self._day:
            self._baselines = {k: int(v) for k, v in raw.get("baselines", {}).items()}
            self._current = {k: int(v) for k, v in raw.get("current", {}).items()}
            self._ai = {k: int(v) for k, v in raw.get("ai", {}).items()}

    def _roll_day(self) -> None:
        if self.today() != self._day:
            # A new day: yesterday's final counts become today's baselines.
            self._baselines = dict(self._current)
            self._ai = {}
            self._day = self.today()

    def update(self, document: Path, words: int) -> None:
        self._roll_day()
        key = str(Path(document))
        self._baselines.setdefault(key, words)
        self._current[key] = words

    def rename(self, old: Path, new: Path) -> None:
        for table in (self._baselines, self._current, self._ai):
            if str(old) in table:
                table[str(new)] = table.pop(str(old))

    def words_today(self) -> int:
        self._roll_day()
        return sum(
            max(0, words - self._baselines.get(key, words)) for key, words in self._current.items()
        )

    def add_ai_words(self, document: Path, words: int) -> None:
        """``words`` from an accepted AI suggestion went into ``document``."""
        self._roll_day()
        key = str(Path(document))
        self._ai[key] = self._ai.get(key, 0) + max(0, words)

    def ai_words_today(self) -> int:
        """AI words still in the text (deleting them again takes them off)."""
        self._roll_day()
        return sum(min(self._ai.get(key, 0), added) for key, added in self._added().items())

    def words_written_today(self) -> int:
        """The writer's own words today: added words less those accepted from the AI."""
        self._roll_day()
        return sum(max(0, added - self._ai.get(key, 0)) for key, added in self._added().items())

    def _added(self) -> dict[str, int]:
        return {
            key: max(0, words - self._baselines.get(key, words))
            for key, words in self._current.items()
        }

    def save(self) -> None:
        self.save_in_background().result()

    def save_in_background(self) -> Future[None]:
        """Write today's figures on the progress thread (an fsync can take tens of
        milliseconds: not on the GUI thread after every autosave)."""
        data = json.dumps(
            {
                "day": self._day,
                "baselines": self._baselines,
                "current": self._current,
                "ai": self._ai,
            }
        )
        return self._writer.submit(self._write, data)

    def _write(self, data: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, data)
        except OSError as exc:
            logger.warning("Couldn't save today's progress: %s", exc)
