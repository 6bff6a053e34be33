"""User settings: one JSON file in the user's config dir, typed getters with defaults.

Unknown keys are kept (another version may have written them); a value of the wrong type
falls back to its default with a warning instead of breaking start-up.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from desktop import paths
from desktop.library.atomic_write import atomic_write_text

logger = logging.getLogger(__name__)

THEMES = ("system", "light", "dark")
# Where the AI model may run (the runtime's own choices; "auto" picks the best available).
AI_DEVICES = ("auto", "cpu", "cuda", "directml", "coreml")
RECENT_LIMIT = 10

DEFAULTS: dict[str, Any] = {
    "library_path": "",  # empty: the default library dir
    "theme": "system",
    "font_family": "",  # empty: the platform's default serif-free font
    "font_size": 13,
    "line_spacing": 150,  # percent
    "measure_chars": 72,  # soft-wrap width of the text column
    "smart_typography": False,
    "spell_check": True,
    "daily_word_goal": 1000,
    "autosave_seconds": 3,
    "journal_seconds": 1.5,
    "snapshot_minutes": 10,
    "typewriter_scrolling": True,
    "open_documents": [],  # [{"path": str, "cursor": int}]
    "current_document": "",
    "window_geometry": "",
    "first_run_done": False,
    "recent_documents": [],  # newest first, paths as strings
    "export_folder": "",  # where the last export went; empty: the document's own folder
    # AI help (read by desktop/ui/ai_feature.py at install and whenever one changes)
    "ai_suggest_after_pause": True,
    "ai_suggest_delay_ms": 1000,
    "ai_temperature": 0.7,  # "creativity": 0 always picks the likeliest word
    "ai_suggestion_tokens": 60,
    "ai_device": "auto",
    "ai_model_dir": "",  # empty: the default model built into the model cache
    "ai_threads": 0,  # 0: as many as onnxruntime thinks best
}


class Settings:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.settings_path()
        self._values: dict[str, Any] = {}
        self.load()

    def load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as exc:
            logger.warning("Settings file %s unreadable (%s); using defaults", self.path, exc)
            raw = {}
        self._values = raw if isinstance(raw, dict) else {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(self._values, indent=2, sort_keys=True))

    def _typed(self, key: str, kind: type | tuple[type, ...]) -> Any:
        default = DEFAULTS[key]
        value = self._values.get(key, default)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        wrong = not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        if wrong:
            logger.warning("Setting %r has a value of the wrong type; using the default", key)
            return default
        return value

    def get_str(self, key: str) -> str:
        return str(self._typed(key, str))

    def get_int(self, key: str) -> int:
        return int(self._typed(key, int))

    def get_float(self, key: str) -> float:
        return float(self._typed(key, (int, float)))

    def get_bool(self, key: str) -> bool:
        return bool(self._typed(key, bool))

    def get_list(self, key: str) -> list[Any]:
        return list(self._typed(key, list))

    def set(self, key: str, value: Any) -> None:
        if key not in DEFAULTS:
            raise KeyError(f"Unknown setting {key!r}")
        self._values[key] = value

    # Convenience getters for the settings the app reads most.
    def library_path(self) -> Path:
        value = self.get_str("library_path")
        return Path(value).expanduser() if value else paths.default_library_dir()

    def theme(self) -> str:
        value = self.get_str("theme")
        return value if value in THEMES else "system"

    def daily_word_goal(self) -> int:
        return max(0, self.get_int("daily_word_goal"))

    def recent_documents(self) -> list[Path]:
        return [Path(p) for p in self.get_list("recent_documents") if isinstance(p, str) and p]

    def add_recent_document(self, path: Path) -> None:
        """Newest first, no duplicates, at most RECENT_LIMIT."""
        entry = str(path)
        rest = [str(p) for p in self.recent_documents() if str(p) != entry]
        self.set("recent_documents", [entry, *rest][:RECENT_LIMIT])

    def rename_recent_document(self, old: Path, new: Path) -> None:
        """Keep a renamed or moved document (or a document in a moved folder) in the list."""
        renamed = []
        for path in self.recent_documents():
            if path == old:
                path = new
            elif old in path.parents:
                path = new / path.relative_to(old)
            renamed.append(str(path))
        self.set("recent_documents", renamed)

    def export_folder(self) -> Path | None:
        """The folder the last export went to, while it still exists."""
        value = self.get_str("export_folder")
        folder = Path(value).expanduser() if value else None
        return folder if folder is not None and folder.is_dir() else None

    # AI options, clamped to what the runtime accepts.
    def ai_suggest_delay_ms(self) -> int:
        return max(200, min(10_000, self.get_int("ai_suggest_delay_ms")))

    def ai_temperature(self) -> float:
        return max(0.0, min(2.0, self.get_float("ai_temperature")))

    def ai_suggestion_tokens(self) -> int:
        return max(8, min(400, self.get_int("ai_suggestion_tokens")))

    def ai_device(self) -> str:
        value = self.get_str("ai_device")
        return value if value in AI_DEVICES else "auto"

    def ai_model_dir(self) -> Path | None:
        value = self.get_str("ai_model_dir")
        return Path(value).expanduser() if value else None

    def ai_threads(self) -> int | None:
        threads = self.get_int("ai_threads")
        return threads if threads > 0 else None
