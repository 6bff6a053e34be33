"""Find / replace bar under the editor: case, whole word, regular expression.

It searches as you type (from where the cursor was when the bar opened) and highlights every
match in the document; Enter / Next / Previous step through them.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from desktop.library.errors import LibraryError
from desktop.library.text_search import SearchOptions, find_all, utf16_offset
from desktop.ui.document_editor import DocumentEditor

logger = logging.getLogger(__name__)

# Beyond this many matches only the first ones are highlighted (the count stays exact).
MAX_HIGHLIGHTS = 2000
TYPING_PAUSE_MS = 120
# A long document waits for a longer pause: each search there takes a noticeable moment.
LONG_DOCUMENT_CHARS = 200_000
LONG_DOCUMENT_PAUSE_MS = 400


class FindBar(QWidget):
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FindBar")
        self.editor: DocumentEditor | None = None
        self._anchor = 0  # where the cursor was when the bar opened: typing searches from here
        self.find_input = QLineEdit(placeholderText="Find")
        self.replace_input = QLineEdit(placeholderText="Replace with")
        self.case = QCheckBox("Match case")
        self.whole_word = QCheckBox("Whole word")
        self.regex = QCheckBox("Regex")
        self.message = QLabel()
        previous = QPushButton("Previous")
        following = QPushButton("Next")
        replace = QPushButton("Replace")
        replace_all = QPushButton("Replace all")
        close = QPushButton("Done")
        layout = QGridLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.find_input, 0, 0)
        layout.addWidget(previous, 0, 1)
        layout.addWidget(following, 0, 2)
        layout.addWidget(self.case, 0, 3)
        layout.addWidget(self.whole_word, 0, 4)
        layout.addWidget(self.regex, 0, 5)
        layout.addWidget(close, 0, 6)
        layout.addWidget(self.replace_input, 1, 0)
        layout.addWidget(replace, 1, 1)
        layout.addWidget(replace_all, 1, 2)
        layout.addWidget(self.message, 1, 3, 1, 4)
        layout.setColumnStretch(0, 1)
        self.replace_widgets = [self.replace_input, replace, replace_all]
        self.find_input.returnPressed.connect(self.find_next)
        self.replace_input.returnPressed.connect(self.replace_one)
        previous.clicked.connect(self.find_previous)
        following.clicked.connect(self.find_next)
        replace.clicked.connect(self.replace_one)
        replace_all.clicked.connect(self.replace_all)
        close.clicked.connect(self.close_bar)
        self.live_timer = QTimer(self)
        self.live_timer.setSingleShot(True)
        self.live_timer.setInterval(TYPING_PAUSE_MS)
        self.live_timer.timeout.connect(self.search_as_you_type)
        self.find_input.textEdited.connect(lambda _text: self._schedule())
        for box in (self.case, self.whole_word, self.regex):
            box.toggled.connect(lambda _on: self._schedule())

    def _schedule(self) -> None:
        long = self.editor is not None and self.editor.document().characterCount() > (
            LONG_DOCUMENT_CHARS
        )
        self.live_timer.start(LONG_DOCUMENT_PAUSE_MS if long else TYPING_PAUSE_MS)

    def options(self) -> SearchOptions:
        return SearchOptions(
            self.case.isChecked(), self.whole_word.isChecked(), self.regex.isChecked()
        )

    def open(self, editor: DocumentEditor, *, replace: bool) -> None:
        if self.editor is not None and self.editor is not editor:
            self.editor.set_search_highlights([])
        self.editor = editor
        self._anchor = editor.textCursor().selectionStart()
        for widget in self.replace_widgets:
            widget.setVisible(replace)
        selected = editor.selected_text()
        if selected and "\n" not in selected:
            self.find_input.setText(selected)
        self.show()
        self.find_input.setFocus()
        self.find_input.selectAll()
        if self.find_input.text():
            self.highlight_all()

    def set_editor(self, editor: DocumentEditor | None) -> None:
        """The writer switched tabs while the bar is open."""
        if self.editor is not None and self.editor is not editor:
            self.editor.set_search_highlights([])
        self.editor = editor
        if editor is not None and self.isVisible():
            self.highlight_all()

    def close_bar(self) -> None:
        self.live_timer.stop()
        if self.editor is not None:
            self.editor.set_search_highlights([])
        self.hide()
        self.closed.emit()
        if self.editor is not None:
            self.editor.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close_bar()
            return
        super().keyPressEvent(event)

    def _matches(self, replacement: str | None = None) -> tuple[str, list] | None:
        if self.editor is None:
            return None
        text = self.editor.text()
        try:
            found = find_all(text, self.find_input.text(), self.options(), replacement)
        except LibraryError as error:
            self.message.setText(str(error))
            self.editor.set_search_highlights([])
            return None
        self._highlight(text, found)
        return text, found

    def _highlight(self, text: str, matches: list) -> None:
        if self.editor is None:
            return
        ranges = []
        units = index = 0  # walk the text once: UTF-16 positions for every match
        for match in matches[:MAX_HIGHLIGHTS]:
            for position in (match.start, match.end):
                if position > index:
                    piece = text[index:position]
                    units += len(piece) + (
                        0 if piece.isascii() else sum(1 for ch in piece if ord(ch) > 0xFFFF)
                    )
                    index = position
                ranges.append(units)
        self.editor.set_search_highlights(list(zip(ranges[::2], ranges[1::2], strict=True)))

    def highlight_all(self) -> int:
        """Highlight every match without moving the cursor; returns how many there are."""
        if not self.find_input.text():
            if self.editor is not None:
                self.editor.set_search_highlights([])
            return 0
        found = self._matches()
        return len(found[1]) if found else 0

    def search_as_you_type(self) -> bool:
        """Select the first match from where the bar opened and highlight them all."""
        self.live_timer.stop()
        if self.editor is None:
            return False
        if not self.find_input.text():
            self.editor.set_search_highlights([])
            self.message.setText("")
            return False
        found = self._matches_or_report()
        if found is None:
            return False
        text, matches = found
        anchor = self._py_index(text, min(self._anchor, len(text.encode("utf-16-le")) // 2))
        match = next((m for m in matches if m.start >= anchor), matches[0])
        self._select(text, match.start, match.end)
        self.message.setText(f"{matches.index(match) + 1} of {len(matches)}")
        return True

    def _select(self, text: str, start: int, end: int) -> None:
        assert self.editor is not None
        cursor = self.editor.textCursor()
        cursor.setPosition(utf16_offset(text, start))
        cursor.setPosition(utf16_offset(text, end), QTextCursor.MoveMode.KeepAnchor)
        self.editor.setTextCursor(cursor)
        self.editor.ensureCursorVisible()

    def _py_index(self, text: str, qt_position: int) -> int:
        """Qt position (UTF-16) back to a Python index."""
        if text.isascii():
            return qt_position
        index = units = 0
        while index < len(text) and units < qt_position:
            units += 2 if ord(text[index]) > 0xFFFF else 1
            index += 1
        return index

    def _matches_or_report(self) -> tuple[str, list] | None:
        """The matches when there are any; otherwise says "Not found" and returns None."""
        found = self._matches()
        if found is None or self.editor is None:
            return None
        if not found[1]:
            self.message.setText("Not found")
            return None
        return found

    def find_next(self) -> bool:
        self.live_timer.stop()
        found = self._matches_or_report()
        if found is None or self.editor is None:
            return False
        text, matches = found
        after = self._py_index(text, self.editor.textCursor().selectionEnd())
        match = next((m for m in matches if m.start >= after), matches[0])
        self._select(text, match.start, match.end)
        number = matches.index(match) + 1
        self.message.setText(f"{number} of {len(matches)}")
        return True

    def find_previous(self) -> bool:
        self.live_timer.stop()
        found = self._matches_or_report()
        if found is None or self.editor is None:
            return False
        text, matches = found
        before = self._py_index(text, self.editor.textCursor().selectionStart())
        earlier = [m for m in matches if m.end <= before]
        match = earlier[-1] if earlier else matches[-1]
        self._select(text, match.start, match.end)
        self.message.setText(f"{matches.index(match) + 1} of {len(matches)}")
        return True

    def replace_one(self) -> bool:
        """Replace the selected match (if the selection is one), then find the next."""
        found = self._matches(self.replace_input.text())
        if found is None or self.editor is None:
            return False
        text, matches = found
        cursor = self.editor.textCursor()
        start = self._py_index(text, cursor.selectionStart())
        end = self._py_index(text, cursor.selectionEnd())
        current = next((m for m in matches if m.start == start and m.end == end), None)
        if current is None:
            return self.find_next()
        self.editor.replace_selection_as_one_undo_step(current.replacement)
        cursor = self.editor.textCursor()
        cursor.setPosition(cursor.selectionEnd())
        self.editor.setTextCursor(cursor)
        self.find_next()
        return True

    def replace_all(self) -> int:
        found = self._matches(self.replace_input.text())
        if found is None or self.editor is None:
            return 0
        text, matches = found
        if not matches:
            self.message.setText("Not found")
            return 0
        cursor = QTextCursor(self.editor.document())
        cursor.beginEditBlock()
        for match in reversed(matches):
            cursor.setPosition(utf16_offset(text, match.start))
            cursor.setPosition(utf16_offset(text, match.end), QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(match.replacement)
        cursor.endEditBlock()
        self.highlight_all()
        self.message.setText(f"Replaced {len(matches)}")
        return len(matches)
