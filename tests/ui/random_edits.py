"""Random edits a writer (and the app) make to a document: typing, Enter and Backspace,
pasting and deleting across paragraphs, undo, redo, one-step replacements, replace-all, a new
text, a look change. Shared by the mirror and the save tests."""

from __future__ import annotations

import random

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from desktop.ui.document_editor import DocumentEditor

PIECES = [
    "word",
    " ",
    "\n",
    "\n\n",
    "# Heading\n",
    "naïve café",
    "\u00a0",  # non-breaking space: saved as a space, as toPlainText gives it
    "\u2028",  # a line break inside a paragraph
    "😀",  # outside the BMP: two UTF-16 units
    "漢字",
    "\t",
]


def random_piece(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6)))


def random_edit(rng: random.Random, editor: DocumentEditor, *, reopen: bool = True) -> None:
    """One edit; ``reopen`` lets it also load a new text (as opening a file does)."""
    document = editor.document()
    size = document.characterCount() - 1
    cursor = QTextCursor(document)
    start = rng.randint(0, size)
    end = min(size, start + rng.choice([0, 1, 2, 10, 200]))
    choice = rng.random()
    if choice < 0.30:  # insert or replace a range
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(random_piece(rng))
    elif choice < 0.45:  # delete a range (often across paragraphs)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
    elif choice < 0.55:  # several edits as one undo step
        cursor.beginEditBlock()
        for _ in range(rng.randint(2, 4)):
            size = document.characterCount() - 1
            cursor.setPosition(rng.randint(0, size))
            if rng.random() < 0.5:
                cursor.insertText(random_piece(rng))
            else:
                cursor.deletePreviousChar()
        cursor.endEditBlock()
    elif choice < 0.65:
        document.undo()
    elif choice < 0.72:
        document.redo()
    elif choice < 0.82:  # keys, as a writer types them (Enter and Backspace included)
        editor.set_cursor_position(start)
        for key in rng.choices(
            [
                Qt.Key.Key_A,
                Qt.Key.Key_Space,
                Qt.Key.Key_Return,
                Qt.Key.Key_Backspace,
                Qt.Key.Key_Delete,
            ],
            k=rng.randint(1, 5),
        ):
            QTest.keyClick(editor, key)
    elif choice < 0.86:
        editor.replace_range_as_one_undo_step(start, end, random_piece(rng))
    elif choice < 0.88:
        editor.replace_all_text_as_one_undo_step(random_piece(rng) * rng.randint(1, 50))
    elif choice < 0.90 and reopen:
        editor.load_text(random_piece(rng) * rng.randint(0, 30))
    elif choice < 0.92:  # a look change: formats every paragraph, changes no text
        editor.apply_look(
            theme=editor.theme,
            family="",
            size=12,
            line_spacing=rng.choice([100, 150]),
            measure_chars=72,
        )
    else:
        editor.insert_text_as_one_undo_step(random_piece(rng), start)
