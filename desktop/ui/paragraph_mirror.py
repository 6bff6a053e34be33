"""The editor's text as one string per paragraph, kept current from ``contentsChange``.

Reading a 200,000-word document out of Qt (``toPlainText``) copies ~1 MB through Qt and into
Python on the GUI thread at every save, journal write and word count. The mirror re-reads
only the paragraphs an edit touched, the next time the text is asked for, so taking the
whole text costs a join of strings Python already holds (well under a millisecond).

The text it returns is exactly ``QTextDocument.toPlainText()``: paragraphs joined by "\\n",
line separators as "\\n" and non-breaking spaces as spaces.
"""

from __future__ import annotations

import logging

from PySide6.QtGui import QTextDocument

logger = logging.getLogger(__name__)

PARAGRAPH_SEPARATOR = "\u2029"
# What toPlainText() changes: line separator, frame marks, non-breaking space.
_PLAIN = str.maketrans({"\u2028": "\n", "\ufdd0": "\n", "\ufdd1": "\n", "\xa0": " "})
_PLAIN_CHARACTERS = tuple(chr(code) for code in _PLAIN)
# When more paragraphs than this share changed, one read of the whole text is quicker.
_REREAD_ALL_FRACTION = 0.25


def plain_text(raw: str) -> str:
    """``raw`` (paragraphs joined by "\\n") as toPlainText() gives it; no copy when clean."""
    if any(character in raw for character in _PLAIN_CHARACTERS):
        return raw.translate(_PLAIN)
    return raw


class ParagraphMirror:
    """Each paragraph's raw text (None: changed, read again when next asked for)."""

    def __init__(self, document: QTextDocument) -> None:
        self._document = document
        self._paragraphs: list[str | None] = [None] * document.blockCount()
        self._stale = len(self._paragraphs)
        # Connected before anyone else can ask for the text after an edit.
        document.contentsChange.connect(self._on_contents_change)

    def _on_contents_change(self, position: int, _removed: int, added: int) -> None:
        # Paragraphs before ``position`` and after the end of the change are untouched; the
        # change now spans the paragraphs from ``first`` to ``last``. The block count tells
        # how many paragraphs it spanned before (Qt's ``removed`` is not always exact).
        document = self._document
        count = document.blockCount()
        end = min(position + added, document.characterCount() - 1)
        first = document.findBlock(max(0, position)).blockNumber()
        last = document.findBlock(end).blockNumber()
        if first < 0 or last < 0:
            self._mark_all_stale(count)
            return
        last = max(first, last)
        last_before = last - (count - len(self._paragraphs))
        if last_before < first - 1 or last_before >= len(self._paragraphs):
            self._mark_all_stale(count)
            return
        replaced = self._paragraphs[first : last_before + 1]
        self._stale -= sum(1 for paragraph in replaced if paragraph is None)
        self._paragraphs[first : last_before + 1] = [None] * (last - first + 1)
        self._stale += last - first + 1

    def _mark_all_stale(self, count: int) -> None:
        self._paragraphs = [None] * count
        self._stale = count

    def paragraphs(self) -> list[str]:
        """The raw text of every paragraph, current (a new list: safe to hand to a thread)."""
        document = self._document
        if len(self._paragraphs) != document.blockCount():  # never expected; stay correct
            logger.warning("Paragraph mirror out of step with the editor; reading it all")
            self._mark_all_stale(document.blockCount())
        if self._stale > max(64, len(self._paragraphs) * _REREAD_ALL_FRACTION):
            raw = document.toRawText().split(PARAGRAPH_SEPARATOR)
            if len(raw) == len(self._paragraphs):
                self._paragraphs, self._stale = list(raw), 0
        if self._stale:
            paragraphs = self._paragraphs
            for number, paragraph in enumerate(paragraphs):
                if paragraph is None:
                    paragraphs[number] = document.findBlockByNumber(number).text()
            self._stale = 0
        return list(self._paragraphs)  # type: ignore[arg-type]  # no None left

    def text(self) -> str:
        """The whole text, as ``toPlainText()`` would give it."""
        return plain_text("\n".join(self.paragraphs()))
