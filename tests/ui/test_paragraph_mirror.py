"""The editor's text comes from a per-paragraph mirror: after any edit (typing, pasting across
paragraphs, undo, redo, replace-all, a look change) it must equal what Qt itself holds."""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtGui import QTextCursor

from desktop.ui.document_editor import DocumentEditor
from desktop.ui.paragraph_mirror import plain_text
from tests.ui.random_edits import random_edit


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
