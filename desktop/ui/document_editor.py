"""The text editor widget and its public API (the seam other features build on).

- ``insert_text_as_one_undo_step`` / ``replace_selection_as_one_undo_step`` /
  ``replace_range_as_one_undo_step``: one Ctrl+Z undoes the whole insertion.
  Pass ``ai_written=True`` for text the AI wrote: ``ai_text_inserted`` then reports it, so
  today's words count the writer's own words apart from accepted suggestions.
- ``text_before_cursor`` / ``text_after_cursor`` / ``selected_text`` / ``cursor_position``.
- Signals ``document_edited`` (text changed by anyone) and ``cursor_moved(position)``.
- Ghost text (a suggestion shown after the cursor as part of the layout — following lines move
  down for it — but not part of the document):
  ``show_ghost_text`` / ``append_ghost_text`` (streaming) / ``clear_ghost_text``; Tab accepts it
  as one undo step (``ghost_text_accepted``), Esc, any edit or a cursor move dismisses it
  (``ghost_text_dismissed``).

Positions are Qt positions (UTF-16 code units).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QFocusEvent,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QMouseEvent,
    QPalette,
    QResizeEvent,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
    QTextLayout,
)
from PySide6.QtWidgets import QMenu, QPlainTextEdit, QTextEdit, QWidget

from desktop.library.spelling import WORD
from desktop.ui.markdown_highlighter import MarkdownHighlighter
from desktop.ui.paragraph_mirror import ParagraphMirror
from desktop.ui.themes import LIGHT, Theme

logger = logging.getLogger(__name__)

PARAGRAPH_SEPARATOR = "\u2029"
GHOST_LAYOUT_MS = 40


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _formats_around_ghost(
    ranges: list[QTextLayout.FormatRange], offset: int, old: int, new: int
) -> list[QTextLayout.FormatRange]:
    """A block's format ranges once the suggestion at ``offset`` goes from ``old`` to ``new``
    UTF-16 units: ranges after it move, its own grow, shrink or go, and a range it cuts into
    is split when it first appears (so the suggestion never takes the text's styling)."""
    delta = new - old
    moved: list[QTextLayout.FormatRange] = []
    for format_range in ranges:
        start, end = format_range.start, format_range.start + format_range.length
        if old and offset <= start < offset + old:  # the suggestion's own colour
            if new:
                format_range.length += delta
                moved.append(format_range)
        elif start >= offset + old:  # after it
            format_range.start += delta
            moved.append(format_range)
        elif start < offset < end and not old:  # cut in two by it
            tail = QTextLayout.FormatRange()
            tail.start, tail.length, tail.format = offset + new, end - offset, format_range.format
            format_range.length = offset - start
            moved += [format_range, tail]
        elif start < offset < end:  # spanning it (the highlighter ran meanwhile)
            format_range.length = max(offset - start, format_range.length + delta)
            moved.append(format_range)
        else:
            moved.append(format_range)
    return moved


def _plain(text: str) -> str:
    return text.replace(PARAGRAPH_SEPARATOR, "\n").replace("\u2028", "\n")


class DocumentEditor(QPlainTextEdit):
    document_edited = Signal()
    cursor_moved = Signal(int)
    focus_lost = Signal()
    ghost_text_accepted = Signal(str)
    ghost_text_dismissed = Signal()
    ai_text_inserted = Signal(str)  # text the AI wrote, now in the document

    def __init__(self, parent: QWidget | None = None, theme: Theme = LIGHT) -> None:
        super().__init__(parent)
        self.setObjectName("DocumentEditor")
        self.theme = theme
        self.measure_chars = 72
        self.line_spacing = 150
        self.smart_typography = False
        self.focus_mode = False
        self.typewriter = True
        self._formatting = False
        self._ghost = ""
        self._ghost_position = -1
        self._search_highlights: list[QTextEdit.ExtraSelection] = []
        self._ghost_block: QTextBlock | None = None
        # Streamed tokens are laid out together: a long paragraph costs a relayout each time.
        self._ghost_layout_timer = QTimer(self)
        self._ghost_layout_timer.setSingleShot(True)
        self._ghost_layout_timer.setInterval(GHOST_LAYOUT_MS)
        self._ghost_layout_timer.timeout.connect(self._lay_out_streamed_ghost)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setTabChangesFocus(False)
        # First to hear of every edit, so the text is current for everyone after it.
        self._mirror = ParagraphMirror(self.document())
        self.highlighter = MarkdownHighlighter(self.document(), theme)
        self.document().contentsChange.connect(self._on_contents_change)
        self.cursorPositionChanged.connect(self._on_cursor_moved)

    # ----- the editor API -------------------------------------------------------------------
    def text(self) -> str:
        """``toPlainText()``, without copying the whole text out of Qt (see ParagraphMirror):
        cheap enough for every save, journal write and count of a 200,000-word book."""
        return self._mirror.text()

    def load_text(self, text: str) -> None:
        """Replace everything without an undo step (opening a file)."""
        self.clear_ghost_text()
        self.highlighter.paused = True
        try:
            self.setPlainText(text)
        finally:
            self.highlighter.paused = False
        self.document().setModified(False)
        self.highlighter.rehighlight_gradually()

    def cursor_position(self) -> int:
        return self.textCursor().position()

    def set_cursor_position(self, position: int) -> None:
        cursor = self.textCursor()
        cursor.setPosition(max(0, min(position, self.document().characterCount() - 1)))
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def text_before_cursor(self, max_chars: int | None = None) -> str:
        cursor = self.textCursor()
        position = cursor.selectionStart()
        start = 0 if max_chars is None else max(0, position - max_chars)
        return self._range_text(start, position)

    def text_after_cursor(self, max_chars: int | None = None) -> str:
        cursor = self.textCursor()
        position = cursor.selectionEnd()
        end = self.document().characterCount() - 1
        if max_chars is not None:
            end = min(end, position + max_chars)
        return self._range_text(position, end)

    def selected_text(self) -> str:
        return _plain(self.textCursor().selectedText())

    def _range_text(self, start: int, end: int) -> str:
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return _plain(cursor.selectedText())

    def insert_text_as_one_undo_step(
        self, text: str, position: int | None = None, *, ai_written: bool = False
    ) -> None:
        """Insert at ``position`` (default: the cursor, replacing any selection)."""
        cursor = self.textCursor()
        if position is not None:
            cursor = QTextCursor(self.document())
            cursor.setPosition(position)
        cursor.beginEditBlock()
        cursor.insertText(text)
        cursor.endEditBlock()
        self.setTextCursor(cursor)
        if ai_written:
            self.ai_text_inserted.emit(text)

    def replace_selection_as_one_undo_step(self, text: str, *, ai_written: bool = False) -> None:
        cursor = self.textCursor()
        start = cursor.selectionStart()
        cursor.beginEditBlock()
        cursor.insertText(text)
        cursor.endEditBlock()
        cursor.setPosition(start)
        cursor.setPosition(
            start + len(text.encode("utf-16-le")) // 2, QTextCursor.MoveMode.KeepAnchor
        )
        self.setTextCursor(cursor)
        if ai_written:
            self.ai_text_inserted.emit(text)

    def replace_range_as_one_undo_step(
        self, start: int, end: int, text: str, *, ai_written: bool = False
    ) -> None:
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.beginEditBlock()
        cursor.insertText(text)
        cursor.endEditBlock()
        if ai_written:
            self.ai_text_inserted.emit(text)

    def replace_all_text_as_one_undo_step(self, text: str) -> None:
        position = self.cursor_position()
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.endEditBlock()
        self.set_cursor_position(position)

    # ----- look ---------------------------------------------------------------------------------
    def apply_look(
        self, *, theme: Theme, family: str, size: int, line_spacing: int, measure_chars: int
    ) -> None:
        self.theme = theme
        font = QFont(family) if family else QFont()
        if not family:
            font.setFamilies(["Noto Serif", "DejaVu Serif", "Georgia", "serif"])
        font.setPointSize(max(6, size))
        self.setFont(font)
        self.document().setDefaultFont(font)
        self.measure_chars = measure_chars
        self.line_spacing = line_spacing
        self._apply_palette()
        self.highlighter.set_theme(theme)
        self._apply_line_spacing()
        self._update_margins()

    def _apply_palette(self) -> None:
        text = self.theme.dim_text if self.focus_mode else self.theme.text
        # A style sheet, because the application's style sheet would override a palette.
        self.setStyleSheet(
            f"QPlainTextEdit {{ background: {self.theme.paper}; color: {text}; border: none;"
            f" selection-background-color: {self.theme.accent};"
            f" selection-color: {self.theme.paper}; }}"
        )
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Text, QColor(text))
        palette.setColor(QPalette.ColorRole.Base, QColor(self.theme.paper))
        self.setPalette(palette)
        self._update_extra_selections()

    def _apply_line_spacing(self) -> None:
        if self.document().characterCount() > 5_000_000:
            return  # ~0.2 s per 200,000 words: beyond ~800,000 words keep default spacing
        block_format = QTextBlockFormat()
        block_format.setLineHeight(
            float(self.line_spacing), QTextBlockFormat.LineHeightTypes.ProportionalHeight.value
        )
        cursor = QTextCursor(self.document())
        cursor.select(QTextCursor.SelectionType.Document)
        modified = self.document().isModified()
        undo = self.document().isUndoRedoEnabled()
        self.document().setUndoRedoEnabled(False)
        self._formatting = True  # a look change is not an edit: no autosave, no journal
        try:
            cursor.mergeBlockFormat(block_format)
        finally:
            self._formatting = False
        self.document().setUndoRedoEnabled(undo)
        self.document().setModified(modified)

    def _update_margins(self) -> None:
        metrics = QFontMetricsF(self.font())
        column = metrics.horizontalAdvance("n") * self.measure_chars
        side = max(
            24,
            int(
                (
                    self.viewport().width()
                    + self.viewportMargins().left()
                    + self.viewportMargins().right()
                    - column
                )
                / 2
            ),
        )
        self.setViewportMargins(side, 24, side, 24)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_margins()

    # ----- focus mode / typewriter -------------------------------------------------------------
    def set_focus_mode(self, on: bool) -> None:
        self.focus_mode = on
        self.setCenterOnScroll(on and self.typewriter)
        self._apply_palette()
        if on and self.typewriter:
            self.centerCursor()
            QTimer.singleShot(0, self.centerCursor)  # again once full screen has resized us

    def set_search_highlights(self, ranges: list[tuple[int, int]]) -> None:
        """Mark every find match (Qt positions); the cursors follow later edits."""
        char_format = QTextCharFormat()
        char_format.setBackground(QColor(self.theme.search_match))
        self._search_highlights = []
        for start, end in ranges:
            selection = QTextEdit.ExtraSelection()
            selection.format = char_format
            cursor = QTextCursor(self.document())
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = cursor
            self._search_highlights.append(selection)
        self._update_extra_selections()

    def search_highlights(self) -> list[tuple[int, int]]:
        return [
            (s.cursor.selectionStart(), s.cursor.selectionEnd()) for s in self._search_highlights
        ]

    def _update_extra_selections(self) -> None:
        if not self.focus_mode:
            self.setExtraSelections(self._search_highlights)
            return
        selection = QTextEdit.ExtraSelection()
        char_format = QTextCharFormat()
        char_format.setForeground(QColor(self.theme.text))
        char_format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.format = char_format
        first, last = self._paragraph_blocks()
        cursor = QTextCursor(self.document())
        cursor.setPosition(first.position())
        cursor.setPosition(
            last.position() + max(0, last.length() - 1), QTextCursor.MoveMode.KeepAnchor
        )
        selection.cursor = cursor
        self.setExtraSelections([selection, *self._search_highlights])

    def _paragraph_blocks(self) -> tuple[QTextBlock, QTextBlock]:
        """The Markdown paragraph around the cursor: lines up to the blank ones around it."""
        block = self.textCursor().block()
        first = last = block
        if block.text().strip():
            for _ in range(500):
                previous = first.previous()
                if not previous.isValid() or not previous.text().strip():
                    break
                first = previous
            for _ in range(500):
                following = last.next()
                if not following.isValid() or not following.text().strip():
                    break
                last = following
        return first, last

    def current_paragraph_is_highlighted(self) -> bool:
        selections = self.extraSelections()
        if not self.focus_mode or not selections:
            return False
        highlighted = selections[0].cursor
        position = self.cursor_position()
        return highlighted.selectionStart() <= position <= highlighted.selectionEnd()

    # ----- signals ------------------------------------------------------------------------------
    def _on_contents_change(self, position: int, removed: int, added: int) -> None:
        if (removed or added) and not self._formatting:
            self.dismiss_ghost_text()
            self.document_edited.emit()

    def _on_cursor_moved(self) -> None:
        if self._ghost and self.cursor_position() != self._ghost_position:
            self.dismiss_ghost_text()
        if self.focus_mode:
            self._update_extra_selections()
            if self.typewriter:
                self.centerCursor()
        self.cursor_moved.emit(self.cursor_position())

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.focus_lost.emit()

    # ----- ghost text ----------------------------------------------------------------------------
    # The suggestion lives in the cursor block's QTextLayout as its preedit area (what an input
    # method uses for text being composed): it takes part in line breaking, so the rest of the
    # paragraph and the lines below move aside for it, yet it is not in the document — the
    # text, undo stack, "modified" flag, word count and autosave never see it.
    def ghost_text(self) -> str:
        return self._ghost

    def show_ghost_text(self, text: str) -> None:
        """Show ``text`` after the cursor without touching the document; a suggestion that
        starts with a paragraph break shows it."""
        if self.isReadOnly():
            return
        position = self.cursor_position()
        if text and self._ghost and position == self._ghost_position and self._ghost_block:
            self._ghost = text  # streaming: grow it in place, laid out at most every few ms
            if not self._ghost_layout_timer.isActive():
                self._ghost_layout_timer.start()
            return
        self._remove_ghost_from_layout()
        self._ghost = text
        self._ghost_position = position
        if text:
            self._put_ghost_in_layout()

    def append_ghost_text(self, chunk: str) -> None:
        if self._ghost_position != self.cursor_position():
            self.show_ghost_text(chunk)
        else:
            self.show_ghost_text(self._ghost + chunk)

    def clear_ghost_text(self) -> None:
        self._remove_ghost_from_layout()
        self._ghost = ""
        self._ghost_position = -1

    def dismiss_ghost_text(self) -> None:
        if self._ghost:
            self.clear_ghost_text()
            self.ghost_text_dismissed.emit()

    def accept_ghost_text(self) -> bool:
        text = self._ghost
        if not text:
            return False
        self.clear_ghost_text()  # first, so the insertion below doesn't count as a dismissal
        self.insert_text_as_one_undo_step(text, ai_written=True)
        self.ghost_text_accepted.emit(text)
        return True

    def _put_ghost_in_layout(self) -> None:
        cursor = self.textCursor()
        self._ghost_block = cursor.block()
        self._set_ghost_in_layout(self._ghost_block, cursor.positionInBlock())

    def _update_ghost_in_layout(self, block: QTextBlock) -> None:
        layout = block.layout()
        if layout is not None and block.isValid():
            self._set_ghost_in_layout(block, layout.preeditAreaPosition())

    def _lay_out_streamed_ghost(self) -> None:
        if self._ghost and self._ghost_block is not None:
            self._update_ghost_in_layout(self._ghost_block)

    def _remove_ghost_from_layout(self) -> None:
        self._ghost_layout_timer.stop()
        block, self._ghost_block = self._ghost_block, None
        if block is None or not block.isValid():
            return
        layout = block.layout()
        if layout is None or not layout.preeditAreaText():
            return
        self._set_ghost_in_layout(block, layout.preeditAreaPosition(), "")

    def _ghost_as_laid_out(self) -> str:
        # Line separators: the suggestion's breaks show inside the one block it lives in.
        return self._ghost.replace("\r\n", "\n").replace("\n", "\u2028")

    def _set_ghost_in_layout(self, block: QTextBlock, offset: int, text: str | None = None) -> None:
        """Make ``text`` (default: the suggestion) the preedit text at ``offset`` of
        ``block``'s layout, moving the highlighter's formats around it ourselves: highlighting
        a long paragraph again for every streamed token would freeze typing."""
        layout = block.layout()
        shown = self._ghost_as_laid_out() if text is None else text
        old = _utf16_length(layout.preeditAreaText()) if layout.preeditAreaText() else 0
        new = _utf16_length(shown)
        ranges = _formats_around_ghost(list(layout.formats()), offset, old, new)
        if new and not old:
            ghost_format = QTextCharFormat()
            ghost_format.setForeground(QColor(self.theme.marker))
            ghost_range = QTextLayout.FormatRange()
            ghost_range.start, ghost_range.length = offset, new
            ghost_range.format = ghost_format
            ranges.append(ghost_range)
        layout.setPreeditArea(offset if new else -1, shown)
        layout.setFormats(ranges)
        self._formatting = True  # a layout change, not an edit
        try:
            self.document().markContentsDirty(block.position(), block.length())
        finally:
            self._formatting = False
        self.viewport().update()
        if new:
            self._reveal_ghost(block)

    def _reveal_ghost(self, block: QTextBlock) -> None:
        """Scroll so the suggestion's last line shows, as far as the cursor stays in view (a
        writer at the bottom of the window would otherwise never see it)."""
        bottom = self.blockBoundingGeometry(block).translated(self.contentOffset()).bottom()
        overflow = bottom - self.viewport().height()
        cursor = self.cursorRect()
        line = max(1, cursor.height())
        room = cursor.top()  # scrolling further would hide the cursor's line
        lines = int(min(overflow, room) + line - 1) // line
        if lines > 0:
            scroll_bar = self.verticalScrollBar()  # a plain-text edit scrolls by lines
            scroll_bar.setValue(scroll_bar.value() + lines)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        # A click goes to the text under it (and dismisses the suggestion), not to the ghost.
        self.dismiss_ghost_text()
        super().mousePressEvent(event)

    # ----- smart typography ---------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._ghost:
            if event.key() == Qt.Key.Key_Tab and not event.modifiers():
                self.accept_ghost_text()
                return
            if event.key() == Qt.Key.Key_Escape:
                self.dismiss_ghost_text()
                return
        if self.smart_typography and not self.isReadOnly():
            replacement = self._smart_replacement(event.text())
            if replacement is not None:
                delete_previous, text = replacement
                cursor = self.textCursor()
                cursor.beginEditBlock()
                if delete_previous:
                    cursor.deletePreviousChar()
                cursor.insertText(text)
                cursor.endEditBlock()
                self.setTextCursor(cursor)
                return
        if self._is_plain_enter(event) and not self.isReadOnly():
            self.insert_paragraph_break()
            return
        super().keyPressEvent(event)

    @staticmethod
    def _is_plain_enter(event: QKeyEvent) -> bool:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        return event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not modifiers

    def insert_paragraph_break(self) -> None:
        """Enter: a new paragraph with this one's format.

        Qt's own Enter, on an empty line whose block format isn't the default (our line
        spacing), resets that format instead of inserting a line, which swallowed the blank
        line after the first line of every new document.
        """
        cursor = self.textCursor()
        cursor.insertBlock(cursor.blockFormat(), cursor.charFormat())
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def _smart_replacement(self, typed: str) -> tuple[bool, str] | None:
        if typed not in ('"', "'", "-"):
            return None
        before = self.text_before_cursor(2)
        previous = before[-1:] if before else ""
        if typed == "-":
            if previous == "-":
                return True, "—"
            return None
        opening = previous == "" or previous.isspace() or previous in "([{"
        if typed == '"':
            return False, "“" if opening else "”"
        return False, "‘" if opening else "’"

    # ----- spelling context menu ----------------------------------------------------------------
    def word_at(self, point: QPoint) -> QTextCursor | None:
        cursor = self.cursorForPosition(point)
        block_text = cursor.block().text()
        offset = cursor.positionInBlock()
        for match in WORD.finditer(block_text):
            if match.start() <= offset <= match.end():
                word_cursor = QTextCursor(cursor.block())
                word_cursor.setPosition(cursor.block().position() + match.start())
                word_cursor.setPosition(
                    cursor.block().position() + match.end(), QTextCursor.MoveMode.KeepAnchor
                )
                return word_cursor
        return None

    def spelling_menu_entries(
        self, word_cursor: QTextCursor
    ) -> list[tuple[str, Callable[[], None]]]:
        spell = self.highlighter.spell
        word = word_cursor.selectedText()
        if spell is None or spell.is_correct(word):
            return []

        def replace_with(suggestion: str) -> Callable[[], None]:
            def apply() -> None:
                word_cursor.beginEditBlock()
                word_cursor.insertText(suggestion)
                word_cursor.endEditBlock()

            return apply

        def add() -> None:
            spell.add_to_personal(word)
            self.highlighter.rehighlightBlock(word_cursor.block())

        entries = [(s, replace_with(s)) for s in spell.suggestions(word)]
        entries.append((f"Add “{word}” to dictionary", add))
        return entries

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu_at(event.pos())
        menu.exec(event.globalPos())
        menu.deleteLater()

    def context_menu_at(self, pos: QPoint) -> QMenu:
        """The right-click menu: spelling suggestions, the standard edit actions, then what
        features added to the main window's ``editor_context_menu_hooks`` (hook(menu, editor),
        e.g. AI tasks on the selection)."""
        menu = self.createStandardContextMenu()
        word_cursor = self.word_at(pos)
        entries = self.spelling_menu_entries(word_cursor) if word_cursor else []
        if entries:
            # Suggestions first, in bold, as word processors list them; then "Add … to
            # dictionary" after a line, then the edit actions after another.
            first = menu.actions()[0] if menu.actions() else None
            *suggestions, (add_title, add) = entries
            bold: list[QAction | None] = []  # None: a separator
            for title, callback in suggestions:
                action = QAction(title, menu)
                font = action.font()
                font.setBold(True)
                action.setFont(font)
                action.triggered.connect(callback)
                bold.append(action)
            add_action = QAction(add_title, menu)
            add_action.triggered.connect(add)
            line: list[QAction | None] = [None]
            items = [*bold, *(line if bold else []), add_action, *(line if first else [])]
            for item in items:
                if item is None:
                    menu.insertSeparator(first)  # type: ignore[arg-type]
                else:
                    menu.insertAction(first, item)  # type: ignore[arg-type]
        for hook in getattr(self.window(), "editor_context_menu_hooks", ()):
            hook(menu, self)
        return menu
