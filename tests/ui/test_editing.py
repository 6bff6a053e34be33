"""Editor API, find/replace, spell check, export, goals, focus mode, palette, themes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docx
import pypdf
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette, QTextCursor
from PySide6.QtWidgets import QApplication, QLabel

from desktop import paths
from desktop.library import Library
from desktop.settings import Settings
from desktop.ui.themes import DARK, LIGHT
from tests.ui.conftest import ScriptedPrompter, type_into

STORY = """# The Lighthouse

Fog rolled in at **dusk**, and *nobody* came.

- the keeper
- the boat

> Keep the light burning.
"""


def open_text(make_window: Any, library: Library, text: str, title: str = "Doc") -> Any:
    window = make_window()
    document = window.open_document(library.create_document(title=title, text=text))
    return window, document, document.editor


def test_editor_api_one_undo_step_and_signals(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    _window, _document, editor = open_text(make_window, library, "Hello world")
    editor.set_cursor_position(5)
    assert editor.text_before_cursor() == "Hello"
    assert editor.text_after_cursor() == " world"
    assert editor.text_before_cursor(max_chars=2) == "lo"
    with qtbot.waitSignal(editor.document_edited):
        editor.insert_text_as_one_undo_step(", dear\nmulti-line")
    assert editor.text() == "Hello, dear\nmulti-line world"
    editor.undo()
    assert editor.text() == "Hello world", "one Ctrl+Z undoes the whole insertion"
    cursor = editor.textCursor()
    cursor.setPosition(6)
    cursor.setPosition(11, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    assert editor.selected_text() == "world"
    editor.replace_selection_as_one_undo_step("planet 🙂\nand more")
    assert editor.text() == "Hello planet 🙂\nand more"
    assert editor.selected_text() == "planet 🙂\nand more"
    editor.undo()
    assert editor.text() == "Hello world"
    with qtbot.waitSignal(editor.cursor_moved) as moved:
        editor.set_cursor_position(2)
    assert moved.args == [2]


def test_find_and_replace_with_regex_is_one_undo_step(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    window, _document, editor = open_text(
        make_window, library, "Met on 2024-01-05. Left on 2025-12-31. Cat concat cat."
    )
    window.registry.trigger("edit.replace")
    bar = window.find_bar
    assert bar.isVisible() and bar.replace_input.isVisible()
    bar.find_input.setText(r"(\d{4})-(\d\d)-(\d\d)")
    bar.regex.setChecked(True)
    bar.replace_input.setText(r"\3/\2/\1")
    assert bar.replace_all() == 2
    assert editor.text() == "Met on 05/01/2024. Left on 31/12/2025. Cat concat cat."
    editor.undo()
    assert editor.text().startswith("Met on 2024-01-05.")
    editor.redo()
    bar.regex.setChecked(False)
    bar.whole_word.setChecked(True)
    bar.find_input.setText("cat")
    editor.set_cursor_position(0)
    assert bar.find_next() and editor.selected_text() == "Cat"
    assert bar.message.text() == "1 of 2"
    bar.case.setChecked(True)
    editor.set_cursor_position(0)
    assert bar.find_next() and editor.textCursor().selectionStart() == len(editor.text()) - 4
    bar.replace_input.setText("dog")
    assert bar.replace_one()
    assert editor.text().endswith("Cat concat dog.")
    bar.regex.setChecked(True)
    bar.find_input.setText("(")
    assert not bar.find_next()
    assert "isn't valid" in bar.message.text()


def test_find_handles_emoji_positions(make_window: Any, library: Library) -> None:
    window, _document, editor = open_text(make_window, library, "🙂🙂 needle here")
    window.open_find(replace=False)
    window.find_bar.find_input.setText("needle")
    assert window.find_bar.find_next()
    assert editor.selected_text() == "needle"


def test_spell_check_suggestions_and_personal_dictionary(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Any
) -> None:
    fast_settings.set("spell_check", True)
    window = make_window(load_spelling=True)
    qtbot.waitUntil(lambda: window.spell is not None, timeout=10000)
    document = window.open_document(library.create_document(title="S", text=""))
    editor = document.editor
    type_into(qtbot, editor, "The wrold turns. Zorblax waves.")
    block = editor.document().firstBlock()
    formats = block.layout().formats()
    underlined = {
        block.text()[f.start : f.start + f.length]
        for f in formats
        if f.format.underlineStyle() == f.format.UnderlineStyle.SpellCheckUnderline
    }
    assert underlined == {"wrold", "Zorblax"}
    rect = editor.cursorRect(_cursor_at(editor, 6))
    word = editor.word_at(QPoint(rect.x() + 1, rect.center().y()))
    assert word.selectedText() == "wrold"
    entries = editor.spelling_menu_entries(word)
    assert entries[0][0] == "world"
    # The menu lists the suggestions first, in bold, then "Add … to dictionary", then editing.
    menu = editor.context_menu_at(QPoint(rect.x() + 1, rect.center().y()))
    titles = [a.text() if not a.isSeparator() else "—" for a in menu.actions()][:5]
    assert titles == ["world", "wold", "—", "Add “wrold” to dictionary", "—"]
    assert menu.actions()[0].font().bold() and not menu.actions()[3].font().bold()
    menu.deleteLater()
    entries[0][1]()
    assert editor.text() == "The world turns. Zorblax waves."
    rect = editor.cursorRect(_cursor_at(editor, 19))
    zorblax = editor.word_at(QPoint(rect.x() + 1, rect.center().y()))
    entries = editor.spelling_menu_entries(zorblax)
    assert entries[-1][0] == "Add “Zorblax” to dictionary"
    entries[-1][1]()
    assert "zorblax" in paths.personal_dictionary_path().read_text(encoding="utf-8")
    assert editor.spelling_menu_entries(zorblax) == []


def _cursor_at(editor: Any, position: int) -> QTextCursor:
    cursor = QTextCursor(editor.document())
    cursor.setPosition(position)
    return cursor


def test_spell_check_can_be_turned_off(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Any
) -> None:
    fast_settings.set("spell_check", True)
    window = make_window(load_spelling=True)
    qtbot.waitUntil(lambda: window.spell is not None, timeout=10000)
    window.registry.action("settings.spell").setChecked(False)
    assert window.spell is None and fast_settings.get_bool("spell_check") is False


def test_export_every_format(tmp_path: Path, make_window: Any, library: Library) -> None:
    window, _document, _editor = open_text(make_window, library, STORY, "Lighthouse")
    out = tmp_path / "out"
    out.mkdir()
    for fmt in ("md", "txt", "html", "docx", "pdf"):
        assert window.export_current(fmt, out / f"story.{fmt}") == out / f"story.{fmt}"
    assert (out / "story.md").read_text(encoding="utf-8") == STORY
    assert "# " not in (out / "story.txt").read_text(encoding="utf-8")
    assert "<h1>The Lighthouse</h1>" in (out / "story.html").read_text(encoding="utf-8")
    paragraphs = [(p.style.name, p.text) for p in docx.Document(str(out / "story.docx")).paragraphs]
    assert ("Heading 1", "The Lighthouse") in paragraphs
    assert ("List Bullet", "the keeper") in paragraphs
    assert ("Quote", "Keep the light burning.") in paragraphs
    pages = pypdf.PdfReader(out / "story.pdf").pages
    pdf_text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "The Lighthouse" in pdf_text and "Keep the light burning." in pdf_text
    assert "**" not in pdf_text, "the PDF is rendered Markdown, not source"


def test_export_folder_chapters_in_order(
    tmp_path: Path, make_window: Any, library: Library
) -> None:
    book = library.create_folder(name="Book")
    library.create_document(book, "Chapter 10", "# Ten\n")
    library.create_document(book, "Chapter 2", "# Two\n")
    window = make_window()
    target = tmp_path / "book.docx"
    assert window.export_folder("docx", book, target) == target
    paragraphs = docx.Document(str(target)).paragraphs
    headings = [p.text for p in paragraphs if p.style.name == "Heading 1"]
    assert headings == ["Two", "Ten"]


def test_export_failure_is_reported(
    tmp_path: Path, make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    window, _document, _editor = open_text(make_window, library, STORY)
    assert window.export_current("pdf", tmp_path / "missing" / "a.pdf") is None
    assert window.export_current("html", tmp_path / "missing" / "a.html") is None
    errors = prompter.messages("error")
    assert len(errors) == 2 and all("Couldn't" in e for e in errors)


def test_word_counts_goal_and_reading_time(
    qtbot: Any, make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    window, _document, editor = open_text(make_window, library, "one two three")
    prompter.texts.append("5")
    window.registry.trigger("settings.goal")
    status = window.writing_status
    assert status.today.text() == "Today 0 / 5"
    editor.moveCursor(QTextCursor.MoveOperation.End)
    type_into(qtbot, editor, " four five six seven eight")
    qtbot.waitUntil(lambda: status.words.text() == "8 words", timeout=10000)
    assert status.today.text() == "Today 5 / 5 ✓"
    assert status.goal_bar.value() == 5
    assert status.reading.text() == "1 min read"
    editor.selectAll()
    qtbot.waitUntil(lambda: status.words.text() == "8 of 8 words", timeout=10000)
    prompter.texts.append("lots")
    window.registry.trigger("settings.goal")
    assert "isn't a number" in prompter.messages("error")[0]


def test_focus_mode_hides_chrome_and_dims_other_paragraphs(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    text = "First.\n\nSecond line one\nsecond line two.\n\nThird."
    window, _document, editor = open_text(make_window, library, text)
    editor.set_cursor_position(text.index("line one"))
    window.registry.action("view.focus").setChecked(True)
    assert window.focus_mode and editor.focus_mode
    assert not window.menuBar().isVisible() and not window.sidebar.isVisible()
    assert not window.statusBar().isVisible() and not window.tabs.tabBar().isVisible()
    assert window.isFullScreen()
    assert editor.palette().color(QPalette.ColorRole.Text) == QColor(editor.theme.dim_text)
    assert editor.current_paragraph_is_highlighted()
    selection = editor.extraSelections()[0]
    highlighted = selection.cursor.selectedText().replace("\u2029", "\n")
    assert highlighted == "Second line one\nsecond line two.", "the whole Markdown paragraph"
    assert editor.centerOnScroll(), "typewriter scrolling"
    editor.set_cursor_position(1)
    assert editor.current_paragraph_is_highlighted()
    leave = window.registry.action("view.leave_focus")
    assert leave.shortcut().toString() == "Esc" and leave.isEnabled()
    window.registry.trigger("view.leave_focus")
    assert not window.registry.action("view.focus").isChecked()
    assert not editor.focus_mode and window.menuBar().isVisible() and window.sidebar.isVisible()
    assert editor.palette().color(QPalette.ColorRole.Text) == QColor(editor.theme.text)
    assert editor.extraSelections() == []
    assert not leave.isEnabled(), "Esc is free again outside focus mode"


def test_command_palette_lists_every_action_and_runs_one(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    window = make_window()
    calls: list[str] = []
    window.registry.register(
        "ai.continue", "Continue writing", lambda: calls.append("ai"), shortcut="Ctrl+J", menu="AI"
    )
    assert any(a.text() == "Continue writing" for a in window.menu("AI").actions())
    window.registry.trigger("edit.palette")
    palette = window._palette
    assert (
        palette.list.count() >= len([a for a in window.registry.all() if a.action.isEnabled()]) - 1
    )
    qtbot.keyClicks(palette.input, "contwri")
    assert palette.list.count() == 1 and "Continue writing" in palette.list.item(0).text()
    assert "Ctrl+J" in palette.list.item(0).text()
    qtbot.keyClick(palette.input, Qt.Key.Key_Return)
    assert calls == ["ai"]


def test_registry_refuses_duplicates_and_tracks_enabled_state(make_window: Any) -> None:
    window = make_window()
    state = {"on": False}
    action = window.registry.register(
        "sync.now", "Sync now", lambda: None, menu="Settings", enabled=lambda: state["on"]
    )
    window.registry.refresh_enabled()
    assert not action.isEnabled()
    state["on"] = True
    window.registry.refresh_enabled()
    assert action.isEnabled()
    assert action in window.menu("Settings").actions()
    import pytest

    with pytest.raises(ValueError):
        window.registry.register("sync.now", "Again", lambda: None)


def test_sidebar_pane_and_status_widget_seams(make_window: Any) -> None:
    window = make_window()
    pane = QLabel("notes")
    window.add_sidebar_pane("notes", "Notes", pane)
    assert window.sidebar.indexOf(pane) >= 0
    widget = QLabel("GPU")
    window.add_status_widget(widget)
    assert widget.parent() is not None and widget.isVisibleTo(window)


def test_themes_switch_and_persist(make_window: Any, fast_settings: Any) -> None:
    window = make_window()
    window.registry.trigger("view.theme.dark")
    app = QApplication.instance()
    assert app.palette().color(QPalette.ColorRole.Base) == QColor(DARK.paper)
    assert fast_settings.theme() == "dark"
    window.registry.trigger("view.theme.light")
    assert app.palette().color(QPalette.ColorRole.Base) == QColor(LIGHT.paper)


def test_check_boxes_and_radio_buttons_stand_out_in_both_themes(
    qtbot: Any, make_window: Any
) -> None:
    """Fusion draws their frames a shade darker than the window: invisible on the dark one."""
    from PySide6.QtWidgets import QCheckBox, QRadioButton, QStyle, QStyleOptionButton, QWidget

    window = make_window()
    for theme in (DARK, LIGHT):
        window.registry.trigger(f"view.theme.{theme.name}")
        for kind, element in (
            (QCheckBox, QStyle.SubElement.SE_CheckBoxIndicator),
            (QRadioButton, QStyle.SubElement.SE_RadioButtonIndicator),
        ):
            for checked in (False, True):
                holder = QWidget()
                qtbot.addWidget(holder)
                button = kind("Option", holder)
                button.setChecked(checked)
                holder.resize(160, 40)
                holder.show()
                option = QStyleOptionButton()
                button.initStyleOption(option)
                box = button.style().subElementRect(element, option, button)
                image = button.grab().toImage()
                background = QColor(theme.window)
                contrast = max(
                    abs(image.pixelColor(x, y).red() - background.red())
                    + abs(image.pixelColor(x, y).green() - background.green())
                    + abs(image.pixelColor(x, y).blue() - background.blue())
                    for x in range(box.left(), box.right() + 1)
                    for y in range(box.top(), box.bottom() + 1)
                )
                assert contrast > 120, (theme.name, kind.__name__, checked, contrast)


def test_zoom_changes_font_size(make_window: Any, library: Library, fast_settings: Any) -> None:
    window, _document, editor = open_text(make_window, library, "text")
    before = editor.font().pointSize()
    window.registry.trigger("view.zoom_in")
    assert editor.font().pointSize() == before + 1
    window.registry.trigger("view.zoom_reset")
    assert editor.font().pointSize() == 13


def test_smart_quotes_and_dashes(qtbot: Any, make_window: Any, library: Library) -> None:
    window, _document, editor = open_text(make_window, library, "")
    window.registry.action("settings.smart").setChecked(True)
    type_into(qtbot, editor, '"It\'s--" she said')
    assert editor.text() == "“It’s—” she said"


def test_markdown_highlighting_marks_headings_and_emphasis(
    make_window: Any, library: Library
) -> None:
    _window, _document, editor = open_text(make_window, library, STORY)
    editor.highlighter.rehighlight()
    heading = editor.document().firstBlock()
    formats = heading.layout().formats()
    assert any(f.format.fontWeight() >= 700 and f.length > 5 for f in formats)
    emphasis_block = editor.document().findBlockByNumber(2)
    italic = [
        emphasis_block.text()[f.start : f.start + f.length]
        for f in emphasis_block.layout().formats()
        if f.format.fontItalic()
    ]
    assert "nobody" in "".join(italic)


def test_changing_the_look_is_not_an_edit(make_window: Any, library: Library) -> None:
    window, document, _editor = open_text(make_window, library, "Untouched text.")
    window.set_theme("dark")
    window.zoom(+1)
    assert not document.is_dirty()
    assert not document.autosave_timer.isActive() and not document.journal_timer.isActive()


def test_ghost_text_tab_accepts_as_one_undo_step(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    _window, document, editor = open_text(make_window, library, "The sea was")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor.show_ghost_text(" calm")
    editor.append_ghost_text(" that night.\nThe next morning")  # streamed tokens
    assert editor.text() == "The sea was" and not document.is_dirty(), "not in the document"
    assert editor.ghost_text() == " calm that night.\nThe next morning"
    before = editor.grab().toImage()
    editor.clear_ghost_text()
    after = editor.grab().toImage()
    assert before != after, "the suggestion is drawn"
    editor.show_ghost_text(" calm that night.")
    with qtbot.waitSignal(editor.ghost_text_accepted) as accepted:
        qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert accepted.args == [" calm that night."]
    assert editor.text() == "The sea was calm that night." and editor.ghost_text() == ""
    editor.undo()
    assert editor.text() == "The sea was", "one Ctrl+Z removes the whole suggestion"


def test_ghost_text_dismissed_by_esc_typing_or_moving(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    _window, _document, editor = open_text(make_window, library, "Hello")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor.show_ghost_text(" world")
    with qtbot.waitSignal(editor.ghost_text_dismissed):
        qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert editor.text() == "Hello" and editor.ghost_text() == ""
    editor.show_ghost_text(" world")
    with qtbot.waitSignal(editor.ghost_text_dismissed):
        qtbot.keyClicks(editor, "!")
    assert editor.text() == "Hello!" and editor.ghost_text() == ""
    editor.show_ghost_text(" world")
    with qtbot.waitSignal(editor.ghost_text_dismissed):
        editor.set_cursor_position(0)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.text() == "\tHello!", "without a suggestion Tab types a tab"


def test_enter_twice_after_the_first_line_of_a_new_document_keeps_the_blank_line(
    qtbot: Any, make_window: Any
) -> None:
    from PySide6.QtTest import QTest

    window = make_window()
    editor = window.new_document().editor
    type_into(qtbot, editor, "# My story")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "It began.")
    QTest.keyClick(editor, Qt.Key.Key_Enter)  # the keypad's Enter too
    QTest.keyClick(editor, Qt.Key.Key_Enter)
    qtbot.keyClicks(editor, "Then.")
    assert editor.text() == "# My story\n\nIt began.\n\nThen."
    spacing = [editor.document().findBlockByNumber(n).blockFormat().lineHeight() for n in range(5)]
    assert spacing == [150.0] * 5, "every new line keeps the line spacing"
    editor.undo()
    assert editor.text().startswith("# My story\n\nIt began.")


def test_switching_spell_check_on_re_highlights_a_novel_a_few_milliseconds_at_a_time(
    qtbot: Any, make_window: Any, library: Library, tmp_path: Path, monkeypatch: Any
) -> None:
    """Re-highlighting a big document with new words to spell-check ran 400 paragraphs per
    event-loop turn: 35-46 ms each on a 200,000-word novel. Slices are now bounded in time."""
    import time

    import desktop.ui.markdown_highlighter as highlighting
    from desktop.library.spelling import SpellDictionary
    from tests.perf import expect_fast

    names = ("Thorvald", "Maerin", "Quillon", "Ysolde", "Brannoch")
    text = "\n\n".join(
        f"Paragraph {n}: {names[n % 5]}{n} walked the harbour road past the old mill, and the "
        f"rain came in off the sea while {names[(n + 2) % 5]} counted the boats." * 3
        for n in range(900)
    )
    _window, _document, editor = open_text(make_window, library, text)
    highlighter = editor.highlighter
    qtbot.waitUntil(lambda: not highlighter.is_busy(), timeout=60_000)
    slices: list[float] = []
    highlight_slice = highlighter._highlight_slice

    def timed() -> None:
        started = time.perf_counter()
        highlight_slice()
        slices.append(time.perf_counter() - started)

    highlighter._slicer.timeout.disconnect()
    highlighter._slicer.timeout.connect(timed)
    highlighter.set_spell(SpellDictionary("en", tmp_path / "personal.txt"))
    qtbot.waitUntil(lambda: not highlighter.is_busy(), timeout=60_000)
    assert len(slices) > 1, "in slices, not at once"
    expect_fast(max(slices) * 1000, 16.7, "longest re-highlighting slice with spell check", "ms")
    monkeypatch.setattr(highlighting, "SLICE_SECONDS", 0.0)  # a paragraph per turn at least
    slices.clear()
    highlighter.rehighlight_gradually()
    qtbot.waitUntil(lambda: not highlighter.is_busy(), timeout=60_000)
    assert len(slices) >= editor.document().blockCount()


def test_chinese_counts_a_word_per_character_and_is_not_spell_checked(
    qtbot: Any, make_window: Any, library: Library, tmp_path: Path
) -> None:
    from desktop.library.spelling import SpellDictionary

    text = "我们今天去公园散步，天气很好。" * 40  # 520 characters
    window, _document, editor = open_text(make_window, library, text)
    window.update_counts()
    assert window.writing_status.words.text() == "520 words"
    assert window.writing_status.reading.text() == "2 min read"  # 400 characters a minute
    editor.highlighter.set_spell(SpellDictionary("en", tmp_path / "personal.txt"))
    editor.highlighter.rehighlight()
    block = editor.document().firstBlock()
    underlined = [
        r
        for r in block.layout().formats()
        if r.format.underlineStyle() == r.format.UnderlineStyle.SpellCheckUnderline
    ]
    assert underlined == []


def test_find_searches_as_you_type_and_highlights_every_match(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    window, _document, editor = open_text(
        make_window, library, "🙂 The fog. Then the fog lifted; the end of the fog."
    )
    editor.set_cursor_position(0)
    window.registry.trigger("edit.find")
    bar = window.find_bar
    qtbot.keyClicks(bar.find_input, "fog")  # no Enter
    qtbot.waitUntil(lambda: bar.message.text() == "1 of 3", timeout=5000)
    assert editor.selected_text() == "fog"
    text = editor.text()
    starts = [i for i in range(len(text)) if text.startswith("fog", i)]
    qt = [i + 1 for i in starts]  # the emoji is two UTF-16 units
    assert editor.search_highlights() == [(p, p + 3) for p in qt]
    qtbot.keyClicks(bar.find_input, "x")
    qtbot.waitUntil(lambda: bar.message.text() == "Not found", timeout=5000)
    assert editor.search_highlights() == []
    qtbot.keyClick(bar.find_input, Qt.Key.Key_Backspace)
    qtbot.waitUntil(lambda: len(editor.search_highlights()) == 3, timeout=5000)
    bar.find_next()
    assert bar.message.text() == "2 of 3"
    bar.close_bar()
    assert editor.search_highlights() == [] and editor.extraSelections() == []


def test_export_dialog_opens_in_the_documents_folder_with_its_name(
    make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    book = library.create_folder(name="Book")
    window = make_window()
    document = window.open_document(library.create_document(book, "The Lighthouse", STORY))
    prompter.save_paths.extend([None, None, document.path])
    window.registry.trigger("file.export.html")
    assert prompter.save_starts[-1] == book / "The Lighthouse.html"
    window.registry.trigger("file.export.md")  # the document itself is never offered
    assert prompter.save_starts[-1] == book / "The Lighthouse (exported).md"
    assert window.export_current("md") is None
    assert "open document" in prompter.messages("error")[-1]
    assert document.path.read_text(encoding="utf-8") == STORY


def test_the_next_export_starts_where_the_last_one_went(
    make_window: Any, library: Library, prompter: ScriptedPrompter, tmp_path: Path
) -> None:
    outside = tmp_path / "Submissions"
    outside.mkdir()
    window = make_window()
    first = window.open_document(library.create_document(None, "The Lighthouse", STORY))
    prompter.save_paths.append(outside / "The Lighthouse.docx")
    window.registry.trigger("file.export.docx")
    assert (outside / "The Lighthouse.docx").is_file()
    window.open_document(library.create_document(None, "The Harbour", STORY))
    prompter.save_paths.append(None)
    window.registry.trigger("file.export.pdf")
    assert prompter.save_starts[-1] == outside / "The Harbour.pdf"
    window.close()  # the folder is remembered with the session
    assert Settings(window.settings.path).export_folder() == outside
    (outside / "The Lighthouse.docx").unlink()
    outside.rmdir()  # gone: the document's own folder again
    window = make_window()
    window.open_document(first.path)
    prompter.save_paths.append(None)
    window.registry.trigger("file.export.html")
    assert prompter.save_starts[-1] == first.path.parent / "The Lighthouse.html"


def test_words_accepted_from_ai_count_apart_from_the_daily_goal(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Any
) -> None:
    fast_settings.set("daily_word_goal", 100)
    window, _document, editor = open_text(make_window, library, "one two three")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    type_into(qtbot, editor, " four five")
    editor.show_ghost_text(" six seven eight")
    qtbot.keyClick(editor, Qt.Key.Key_Tab)  # accept the suggestion
    assert editor.text() == "one two three four five six seven eight"
    status = window.writing_status
    qtbot.waitUntil(lambda: status.words.text() == "8 words", timeout=10000)
    assert status.today.text() == "Today 2 / 100 written + 3 from AI"
    assert status.goal_bar.value() == 2
    # Text the AI feature inserts itself is marked the same way.
    editor.insert_text_as_one_undo_step(" nine ten", ai_written=True)
    qtbot.waitUntil(lambda: status.today.text() == "Today 2 / 100 written + 5 from AI")


def test_command_palette_puts_the_closest_names_first(make_window: Any) -> None:
    from desktop.ui.command_palette import match_rank

    assert match_rank("svas", "Save As") is not None, "letters in order still match"
    assert match_rank("xq", "Save As") is None
    window = make_window()
    window.registry.trigger("edit.palette")
    palette = window._palette

    def shown(query: str) -> list[str]:
        palette.input.setText(query)
        return [palette.list.item(i).text().split("    ")[0] for i in range(palette.list.count())]

    dark = shown("dark")
    assert dark[0] == "View: Theme: Dark", dark  # before "Export … as Markdown"
    assert any("as Markdown" in name for name in dark[1:]), "looser matches are still listed"
    assert shown("font")[0] == "Settings: Font"
    assert shown("new")[:2] == ["File: New document", "File: New folder"]
    assert shown("exp pdf")[0].endswith(" as PDF")
