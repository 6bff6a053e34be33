"""Spell checking with pyspellchecker's bundled dictionaries (no network) plus a personal
word list in the user's config dir.

Loading a dictionary takes a noticeable fraction of a second, so the UI does it in a worker;
``is_correct`` is a dictionary lookup, cheap enough for the highlighter.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

logger = logging.getLogger(__name__)

LANGUAGES = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "pt": "Português",
    "it": "Italiano",
    "nl": "Nederlands",
    "ru": "Русский",
}
# The script each bundled dictionary covers: words in any other script (Chinese, Japanese,
# Korean, Greek…) are not this dictionary's business and are never marked as misspelled.
SCRIPTS = {code: "CYRILLIC" if code == "ru" else "LATIN" for code in LANGUAGES}
# Words of the app's own vocabulary that the bundled dictionaries don't know.
BUILT_IN_WORDS = frozenset({"draftsmith", "ctrl", "alt", "markdown", "docx", "pdf", "html"})
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


class SpellDictionary:
    def __init__(self, language: str, personal_path: Path) -> None:
        from spellchecker import SpellChecker

        if language not in LANGUAGES:
            raise ValueError(f"No bundled dictionary for language {language!r}")
        self.language = language
        self.script = SCRIPTS[language]
        self.personal_path = Path(personal_path)
        self._checker = SpellChecker(language=language, distance=2)
        self._personal: set[str] = set(BUILT_IN_WORDS)
        self._cache: dict[str, bool] = {}
        try:
            words = self.personal_path.read_text(encoding="utf-8").split()
            self._personal |= {_normal(w) for w in words}
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("Couldn't read the personal dictionary: %s", exc)

    def is_correct(self, word: str) -> bool:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        lower = _normal(word)
        correct = (
            len(word) < 2
            or not self.covers(word)
            or lower in self._personal
            or lower in self._checker
            or word.isupper()
        )
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[word] = correct
        return correct

    def covers(self, word: str) -> bool:
        """True when every letter of ``word`` is in this dictionary's script."""
        return all(ch in "'’" or unicodedata.name(ch, "").startswith(self.script) for ch in word)

    def misspelled(self, text: str) -> list[tuple[int, int, str]]:
        return [
            (m.start(), m.end(), m.group())
            for m in WORD.finditer(text)
            if not self.is_correct(m.group())
        ]

    def suggestions(self, word: str, limit: int = 7) -> list[str]:
        candidates = self._checker.candidates(word.lower()) or set()
        best = self._checker.correction(word.lower())
        ranked = sorted(
            candidates, key=lambda w: (w != best, -self._checker.word_usage_frequency(w), w)
        )
        if word[:1].isupper():
            ranked = [w[:1].upper() + w[1:] for w in ranked]
        return [w for w in ranked if w.lower() != word.lower()][:limit]

    def add_to_personal(self, word: str) -> None:
        lower = _normal(word)
        self._personal.add(lower)
        self._cache.pop(word, None)
        self.personal_path.parent.mkdir(parents=True, exist_ok=True)
        with self.personal_path.open("a", encoding="utf-8") as handle:
            handle.write(lower + "\n")


def _normal(word: str) -> str:
    return word.lower().replace("’", "'")
