"""Find / replace bar under the editor: case, whole word, regular expression."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
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


class FindBar(QWidget):
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FindBar")
        self.editor: DocumentEditor | None = None
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

    def options(self) -> SearchOptions:
        return SearchOptions(
            self.case.isChecked(), self.whole_word.isChecked(), self.regex.isChecked()
        )

    def open(self, editor: DocumentEditor, *, replace: bool) -> None:
        self.editor = editor
        for widget in self.replace_widgets:
            widget.setVisible(replace)
        selected = editor.selected_text()
        if selected and "\n" not in selected:
            self.find_input.setText(selected)
        self.show()
        self.find_input.setFocus()
        self.find_input.selectAll()

    def close_bar(self) -> None:
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
            return text, find_all(text, self.find_input.text(), self.options(), replacement)
        except LibraryError as error:
            self.message.setText(str(error))
            return None

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
        self.message.setText(f"Replaced {len(matches)}")
        return len(matches)
