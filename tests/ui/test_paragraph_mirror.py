"""The editor's text comes from a per-paragraph mirror: after any edit (typing, pasting across
paragraphs, undo, redo, replace-all, a look change) it must equal what Qt itself holds."""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest

from desktop.ui.document_editor import DocumentEditor
from desktop.ui.paragraph_mirror import plain_text

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


def random_edit(rng: random.Random, editor: DocumentEditor) -> None:
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
    elif choice < 0.90:
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


def test_the_text_equals_qts_own_after_random_edits(qtbot: Any) -> None:
    editor = DocumentEditor()
    qtbot.addWidget(editor)
    editor.show()
    rng = random.Random(2026)
    editor.load_text("# Title\n\nFirst paragraph.\n\nSecond one.\n" * 40)
    assert editor.text() == editor.toPlainText()
    for step in range(1500):
        random_edit(rng, editor)
        if step % 3 == 0 or rng.random() < 0.2:  # sometimes several edits between reads
            assert editor.text() == editor.toPlainText(), f"after step {step}"
    assert editor.text() == editor.toPlainText()


def test_a_long_document_is_read_again_only_where_it_changed(qtbot: Any) -> None:
    editor = DocumentEditor()
    qtbot.addWidget(editor)
    paragraphs = [f"Paragraph {n} of the book." for n in range(5000)]
    editor.load_text("\n".join(paragraphs))
    assert editor.text() == "\n".join(paragraphs)
    first = editor._mirror.paragraphs()
    cursor = QTextCursor(editor.document().findBlockByNumber(2500))
    cursor.insertText("New ")
    second = editor._mirror.paragraphs()
    changed = [n for n, (a, b) in enumerate(zip(first, second, strict=True)) if a is not b]
    assert changed == [2500]  # every other paragraph is the very same string object
    assert second[2500] == "New Paragraph 2500 of the book."


def test_plain_text_matches_qt_for_its_special_characters() -> None:
    assert plain_text("a\u2028b\u00a0c") == "a\nb c"
    clean = "nothing special"
    assert plain_text(clean) is clean
