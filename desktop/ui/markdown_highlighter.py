"""Light Markdown highlighting plus the spell-check underline.

Large documents are highlighted in slices from a timer (``rehighlight_gradually``) instead
of one long freeze; per keystroke only the edited paragraph is re-highlighted.
"""

from __future__ import annotations

import logging
import re
import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from desktop.library.spelling import WORD, SpellDictionary
from desktop.ui.themes import Theme

logger = logging.getLogger(__name__)

_HEADING = re.compile(r"^(#{1,6})[ \t]")
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_QUOTE = re.compile(r"^\s*>")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])([*_])(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![*\w])")
_CODE = re.compile(r"`[^`]+`")
_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")
_URL = re.compile(r"\S+://\S+|\S+@\S+\.\S+")
_IN_CODE_BLOCK = 1
# A large document is re-highlighted (theme, spell check switched on or its dictionary
# loaded) for at most this long per event-loop turn: with new words to spell-check, 400
# paragraphs of a 200,000-word novel took 35-46 ms.
SLICE_SECONDS = 0.006


def _u16(text: str, index: int) -> int:
    if text.isascii():
        return index
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


class MarkdownHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument, theme: Theme) -> None:
        super().__init__(document)
        self.spell: SpellDictionary | None = None
        self.paused = False
        self._next_block = 0
        self._slicer = QTimer(self)
        self._slicer.setInterval(0)
        self._slicer.timeout.connect(self._highlight_slice)
        self.set_theme(theme, rehighlight=False)

    def set_theme(self, theme: Theme, *, rehighlight: bool = True) -> None:
        def fmt(
            color: str,
            *,
            bold: bool = False,
            italic: bool = False,
            background: str | None = None,
            mono: bool = False,
        ) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(color))
            if bold:
                f.setFontWeight(QFont.Weight.Bold)
            if italic:
                f.setFontItalic(True)
            if background:
                f.setBackground(QColor(background))
            if mono:
                f.setFontFamilies(["DejaVu Sans Mono", "Menlo", "Consolas", "monospace"])
            return f

        self.heading = fmt(theme.heading, bold=True)
        self.marker = fmt(theme.marker)
        self.quote = fmt(theme.quote, italic=True)
        self.code = fmt(theme.text, background=theme.code_bg, mono=True)
        self.link = fmt(theme.accent)
        self.misspelled = QTextCharFormat()
        self.misspelled.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SpellCheckUnderline)
        self.misspelled.setUnderlineColor(QColor(theme.misspelled))
        if rehighlight:
            self.rehighlight_gradually()

    def set_spell(self, spell: SpellDictionary | None) -> None:
        self.spell = spell
        self.rehighlight_gradually()

    def rehighlight_gradually(self) -> None:
        """Re-highlight in slices of at most ``SLICE_SECONDS`` per event-loop turn."""
        self._next_block = 0
        self._slicer.start()

    def _highlight_slice(self) -> None:
        document = self.document()
        if document is None:
            self._slicer.stop()
            return
        block = document.findBlockByNumber(self._next_block)
        deadline = time.perf_counter() + SLICE_SECONDS
        while block.isValid():
            self.rehighlightBlock(block)
            block = block.next()
            self._next_block += 1
            if time.perf_counter() >= deadline:
                return
        self._slicer.stop()

    def is_busy(self) -> bool:
        return self._slicer.isActive()

    def highlightBlock(self, text: str) -> None:
        if self.paused:
            return
        previous = self.previousBlockState()
        in_code = previous == _IN_CODE_BLOCK
        if text.startswith(("```", "~~~")):
            self.setFormat(0, _u16(text, len(text)), self.code)
            self.setCurrentBlockState(0 if in_code else _IN_CODE_BLOCK)
            return
        if in_code:
            self.setFormat(0, _u16(text, len(text)), self.code)
            self.setCurrentBlockState(_IN_CODE_BLOCK)
            return
        self.setCurrentBlockState(0)
        end = _u16(text, len(text))
        heading = _HEADING.match(text)
        if heading:
            self.setFormat(0, end, self.heading)
            self.setFormat(0, len(heading.group(1)), self.marker)
        elif _QUOTE.match(text):
            self.setFormat(0, end, self.quote)
        else:
            listed = _LIST.match(text)
            if listed:
                self.setFormat(0, _u16(text, listed.end()), self.marker)
        for pattern, style in ((_BOLD, "bold"), (_ITALIC, "italic")):
            for match in pattern.finditer(text):
                start, stop = _u16(text, match.start()), _u16(text, match.end())
                f = QTextCharFormat(self.format(start))  # one format per span: cheap
                if style == "bold":
                    f.setFontWeight(QFont.Weight.Bold)
                else:
                    f.setFontItalic(True)
                self.setFormat(start, stop - start, f)
                mark = len(match.group(1))
                self.setFormat(start, mark, self.marker)
                self.setFormat(stop - mark, mark, self.marker)
        for match in _CODE.finditer(text):
            self.setFormat(_u16(text, match.start()), match.end() - match.start(), self.code)
        for match in _LINK.finditer(text):
            self.setFormat(_u16(text, match.start()), match.end() - match.start(), self.link)
        if self.spell is not None:
            self._underline_misspelled(text)

    def _underline_misspelled(self, text: str) -> None:
        spell = self.spell
        assert spell is not None
        skip = [m.span() for m in _URL.finditer(text)] + [m.span() for m in _CODE.finditer(text)]
        for match in WORD.finditer(text):
            word = match.group()
            if spell.is_correct(word):
                continue
            if any(a <= match.start() < b for a, b in skip):
                continue
            start = _u16(text, match.start())
            length = _u16(text, match.end()) - start
            f = QTextCharFormat(self.format(start))
            f.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SpellCheckUnderline)
            f.setUnderlineColor(self.misspelled.underlineColor())
            self.setFormat(start, length, f)
