"""Ghost text is part of the layout — the lines after it move down — but never part of the
document: not its text, undo stack, "modified" flag, word count or autosave."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor

from desktop.library import Library

MIDDLE = "The keeper climbed the stairs.\n\nThe lamp was cold.\n\nBelow, the sea kept on."


def open_text(make_window: Any, library: Library, text: str) -> tuple[Any, Any, Any]:
    window = make_window()
    document = window.open_document(library.create_document(title="Ghost", text=text))
    document.editor.setFocus()
    return window, document, document.editor


def top_of_block(editor: Any, number: int) -> float:
    block = editor.document().findBlockByNumber(number)
    return float(editor.blockBoundingGeometry(block).translated(editor.contentOffset()).top())


def put_cursor_at_end_of(editor: Any, words: str) -> None:
    cursor = editor.textCursor()
    cursor.setPosition(editor.text().index(words) + len(words))
    editor.setTextCursor(cursor)


def test_ghost_text_in_the_middle_pushes_the_next_lines_down(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    window, document, editor = open_text(make_window, library, MIDDLE)
    put_cursor_at_end_of(editor, "The lamp was cold.")
    qtbot.waitUntil(lambda: not document.autosave_timer.isActive(), timeout=5_000)
    words_before = window.writing_status.words.text()
    line = editor.cursorRect().height()
    below = top_of_block(editor, 4)  # "Below, the sea kept on."
    edits: list[int] = []
    editor.document_edited.connect(lambda: edits.append(1))

    suggestion = " It had not been lit for years, not since the war, " * 3 + "\n\nHe sat."
    editor.show_ghost_text(suggestion)
    qtbot.wait(10)

    moved = top_of_block(editor, 4) - below
    # At least: the wrapped sentence (2+ lines), the blank line and "He sat."
    assert moved >= 3 * line - 1, f"the line below moved {moved}px, a line is {line}px"
    block = editor.document().findBlockByNumber(2)
    assert block.layout().lineCount() >= 4, "the suggestion wraps like real text"
    assert editor.text() == MIDDLE
    assert not editor.document().isModified() and not document.is_dirty()
    assert not editor.document().isUndoAvailable()
    assert edits == [] and not document.autosave_timer.isActive()
    assert window.writing_status.words.text() == words_before

    with qtbot.waitSignal(editor.ghost_text_dismissed):
        qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert top_of_block(editor, 4) == below, "dismissed: the lines come back up"
    assert editor.text() == MIDDLE and not editor.document().isUndoAvailable()


def test_a_suggestion_that_starts_a_paragraph_shows_and_inserts_the_break(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    _window, document, editor = open_text(make_window, library, MIDDLE)
    put_cursor_at_end_of(editor, "The lamp was cold.")
    line = editor.cursorRect().height()
    cursor_top = editor.cursorRect().top()
    below = top_of_block(editor, 4)
    editor.show_ghost_text("\n\nHe lit it.")
    qtbot.wait(10)
    # Shown as a blank line and a new paragraph under the cursor's line.
    assert top_of_block(editor, 4) - below >= 2 * line - 1
    assert editor.cursorRect().top() == cursor_top, "the cursor stays where it was"
    with qtbot.waitSignal(editor.ghost_text_accepted):
        qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.text() == MIDDLE.replace("cold.", "cold.\n\nHe lit it.")
    assert document.is_dirty()
    editor.undo()
    assert editor.text() == MIDDLE, "one Ctrl+Z removes the whole suggestion"


def test_typing_or_clicking_with_a_suggestion_shown_edits_the_real_text(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    _window, _document, editor = open_text(make_window, library, MIDDLE)
    put_cursor_at_end_of(editor, "The lamp")
    editor.show_ghost_text(" that hung by the door")
    qtbot.keyClicks(editor, "s")
    assert editor.text() == MIDDLE.replace("The lamp was", "The lamps was")
    assert editor.ghost_text() == ""
    assert editor.document().findBlockByNumber(2).layout().preeditAreaText() == ""

    put_cursor_at_end_of(editor, "The keeper")
    editor.show_ghost_text(" Joao, old and slow,")
    target = editor.document().findBlockByNumber(4)
    point = editor.blockBoundingGeometry(target).translated(editor.contentOffset()).topLeft()
    with qtbot.waitSignal(editor.ghost_text_dismissed):
        qtbot.mouseClick(
            editor.viewport(),
            Qt.MouseButton.LeftButton,
            pos=QPoint(int(point.x()) + 2, 4 + int(point.y())),
        )
    assert editor.textCursor().block().blockNumber() == 4, "the click lands on the real line"
    editor.moveCursor(QTextCursor.MoveOperation.End)
    assert editor.text().endswith("kept on.")


def test_ghost_text_at_the_end_makes_the_document_taller_and_can_be_scrolled_to(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    _window, _document, editor = open_text(make_window, library, MIDDLE)
    editor.moveCursor(QTextCursor.MoveOperation.End)
    layout = editor.document().documentLayout()
    lines_before = layout.documentSize().height()  # a plain-text layout counts lines
    editor.show_ghost_text(" The tide turned.\nThe gulls came back.\nThe boats were out.")
    qtbot.wait(10)
    assert layout.documentSize().height() >= lines_before + 2
    assert editor.text() == MIDDLE
    editor.clear_ghost_text()
    qtbot.wait(10)
    assert layout.documentSize().height() == lines_before


def test_a_suggestion_at_the_bottom_of_the_window_scrolls_into_view(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    long_text = "\n\n".join(f"Paragraph {n} of the story." for n in range(200))
    _window, _document, editor = open_text(make_window, library, long_text)
    editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.wait(10)
    viewport = editor.viewport().height()
    assert editor.cursorRect().bottom() <= viewport
    editor.show_ghost_text(" The tide turned.\nThe gulls came back.\nThe boats were out.")
    qtbot.wait(10)
    last = editor.document().lastBlock()
    bottom = editor.blockBoundingGeometry(last).translated(editor.contentOffset()).bottom()
    assert bottom <= viewport + 1, "the whole suggestion is visible"
    assert editor.cursorRect().top() >= 0, "and so is the cursor"
    assert editor.text() == long_text


def spans(block: Any) -> list[tuple[int, int]]:
    return sorted((r.start, r.length) for r in block.layout().formats())


def test_streamed_ghost_text_grows_and_the_paragraphs_styling_stays_in_place(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    text = "Say **bold** and *soft* words.\n\nNext."
    _window, _document, editor = open_text(make_window, library, text)
    block = editor.document().firstBlock()
    qtbot.waitUntil(lambda: bool(spans(block)))  # highlighted
    styled = spans(block)
    put_cursor_at_end_of(editor, "Say")
    editor.show_ghost_text(" hello")
    editor.append_ghost_text(" there,")  # streamed: laid out a moment later, together
    assert editor.ghost_text() == " hello there,"
    qtbot.waitUntil(lambda: block.layout().preeditAreaText() == " hello there,")
    shift = len(" hello there,")
    moved = [(start + shift, length) for start, length in styled if start >= 3]
    assert set(moved) <= set(spans(block)), "the styling after the suggestion moved with it"
    with qtbot.waitSignal(editor.ghost_text_dismissed):
        qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert spans(block) == styled, "and is back in place once it goes"
    assert editor.text() == text
