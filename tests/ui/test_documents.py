"""Create / rename / move / delete, typing and autosave, untitled documents, session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from desktop.library import Library
from tests.ui.conftest import ScriptedPrompter, type_into


def test_new_document_is_a_file_at_once_and_autosaves(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    window = make_window()
    document = window.new_document()
    assert document.path == library.root / "Untitled.md" and document.path.exists()
    type_into(qtbot, document.editor, "First words of the day")
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Untitled •"
    named = library.root / "First words of the day.md"
    qtbot.waitUntil(
        lambda: named.exists() and named.read_text(encoding="utf-8") == "First words of the day",
        timeout=10000,
    )
    assert not document.is_dirty() and not (library.root / "Untitled.md").exists()
    assert window.tabs.tabText(window.tabs.currentIndex()) == "First words of the day"
    assert window.library_pane.words_shown_for(document.path) == "5"


def test_new_document_is_named_from_its_heading_until_the_writer_renames_it(
    qtbot: Any, make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    library.create_document(title="The Lighthouse", text="taken by another document")
    window = make_window()
    document = window.new_document()
    type_into(qtbot, document.editor, "# The Lighthouse")
    qtbot.keyClick(document.editor, Qt.Key.Key_Return)
    qtbot.keyClick(document.editor, Qt.Key.Key_Return)
    type_into(qtbot, document.editor, "Fog rolled in.")
    expected = library.root / "The Lighthouse 2.md"
    qtbot.waitUntil(lambda: document.path == expected, timeout=10000)
    assert expected.read_text(encoding="utf-8").startswith("# The Lighthouse")
    assert (library.root / "The Lighthouse.md").read_text() == "taken by another document"
    assert window.windowTitle().startswith("The Lighthouse 2 — ")
    # F2 offers the name from the heading, filled in.
    document.editor.moveCursor(document.editor.textCursor().MoveOperation.Start)
    document.editor.moveCursor(document.editor.textCursor().MoveOperation.EndOfBlock)
    type_into(qtbot, document.editor, " at Night")
    prompter.texts.append("My own name")
    window.registry.trigger("file.rename")
    assert prompter.text_questions[-1] == ("Rename", "The Lighthouse at Night")
    assert document.path == library.root / "My own name.md"
    # Renamed by the writer: later headings no longer rename it.
    type_into(qtbot, document.editor, " again")
    assert document.save()
    assert document.path == library.root / "My own name.md"


def test_an_automatically_named_document_keeps_following_its_heading_after_restart(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    window = make_window()
    document = window.new_document()
    type_into(qtbot, document.editor, "# Draft one")
    qtbot.waitUntil(lambda: document.path.name == "Draft one.md", timeout=10000)
    window.close()
    again = make_window()
    again.restore_session()
    reopened = again.current_document()
    assert reopened.path.name == "Draft one.md" and reopened.auto_title
    reopened.editor.moveCursor(reopened.editor.textCursor().MoveOperation.End)
    type_into(qtbot, reopened.editor, " revised")
    assert reopened.save()
    assert reopened.path.name == "Draft one revised.md"


def test_rename_move_and_delete_keep_the_open_tab_right(
    qtbot: Any, make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    window = make_window()
    document = window.new_document()
    type_into(qtbot, document.editor, "Chapter text")
    prompter.texts.append("Opening")
    renamed = window.rename_path(None)
    assert renamed == library.root / "Opening.md"
    assert renamed.read_text(encoding="utf-8") == "Chapter text", "saved before renaming"
    assert document.path == renamed and window.windowTitle().startswith("Opening")
    assert "Opening" in window.library_pane.titles()

    prompter.texts.append("Part One")
    folder = window.new_folder()
    prompter.choices.append(1)  # [Library (top level), Part One]
    moved = window.move_path(None)
    assert moved == folder / "Opening.md" and moved.exists() and document.path == moved

    type_into(qtbot, document.editor, " more")
    prompter.confirms.append(True)
    assert window.delete_path(None)
    assert not moved.exists()
    assert window.tabs.count() == 0
    assert "Opening" not in window.library_pane.titles()


def test_rename_to_existing_name_is_refused_in_plain_words(
    make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    library.create_document(title="Taken")
    window = make_window()
    window.new_document()
    prompter.texts.append("Taken")
    assert window.rename_path(None) is None
    assert "already a “Taken.md”" in prompter.messages("error")[0]


def test_session_reopens_documents_and_cursor(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Any
) -> None:
    first = library.create_document(title="One", text="alpha beta gamma")
    second = library.create_document(title="Two", text="delta")
    window = make_window()
    window.open_document(first).editor.set_cursor_position(6)
    window.open_document(second)
    window.close()
    again = make_window()
    again.restore_session()
    assert [d.path for d in again.documents] == [first, second]
    assert again.current_document().path == second
    assert again.documents[0].editor.cursor_position() == 6


def test_sidebar_search_opens_the_line(qtbot: Any, make_window: Any, library: Library) -> None:
    library.create_document(title="Harbour", text="Fog.\nThe lighthouse blinked.\n")
    window = make_window()
    window.library_pane.search.setText("lighthouse")
    results = window.library_pane.results
    assert results.count() == 1 and "Harbour:2" in results.item(0).text()
    window.library_pane._open_result(results.item(0))
    editor = window.current_editor()
    assert editor.textCursor().blockNumber() == 1


def test_outline_lists_headings_and_jumps(qtbot: Any, make_window: Any, library: Library) -> None:
    doc = library.create_document(title="Book", text="# One\ntext\n## Two\nmore\n")
    window = make_window()
    window.open_document(doc)
    window.update_outline()
    assert [window.outline.item(i).text().strip() for i in range(window.outline.count())] == [
        "One",
        "Two",
    ]
    window.outline.heading_chosen.emit(2)
    assert window.current_editor().textCursor().blockNumber() == 2


def test_tabs_cycle_with_shortcut_actions(make_window: Any, library: Library) -> None:
    a = library.create_document(title="A")
    b = library.create_document(title="B")
    window = make_window()
    window.open_document(a)
    window.open_document(b)
    window.registry.trigger("view.next_tab")
    assert window.current_document().path == a
    window.registry.trigger("view.previous_tab")
    assert window.current_document().path == b


def test_file_deleted_by_another_program_is_recreated_on_save(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    doc = library.create_document(title="Fragile", text="keep me")
    window = make_window()
    document = window.open_document(doc)
    Path(doc).unlink()
    document.check_disk()
    qtbot.waitUntil(lambda: doc.exists(), timeout=10000)
    assert doc.read_text(encoding="utf-8") == "keep me"


def test_renaming_a_folder_keeps_its_open_documents_saving(
    qtbot: Any, make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    folder = library.create_folder(name="Draft")
    doc = library.create_document(folder, "Scene", "start")
    window = make_window()
    document = window.open_document(doc)
    prompter.texts.append("Final")
    new_folder = window.rename_path(folder)
    assert new_folder == library.root / "Final"
    assert document.path == new_folder / "Scene.md"
    type_into(qtbot, document.editor, "more ")
    qtbot.waitUntil(
        lambda: (new_folder / "Scene.md").read_text(encoding="utf-8") == "more start", timeout=10000
    )
    assert not folder.exists()
    library.save_notes(document.path, "notes follow")
    assert library.load_notes(document.path) == "notes follow"


def test_files_other_programs_add_appear_in_the_sidebar(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    window = make_window()
    (library.root / "From another app.md").write_text("three words here", encoding="utf-8")
    qtbot.waitUntil(lambda: "From another app" in window.library_pane.titles(), timeout=10000)
    assert window.library_pane.words_shown_for(library.root / "From another app.md") == "3"
    (library.root / "From another app.md").unlink()
    qtbot.waitUntil(lambda: "From another app" not in window.library_pane.titles(), timeout=10000)


def test_drag_and_drop_in_the_sidebar_moves_on_disk(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    folder = library.create_folder(name="Part Two")
    doc = library.create_document(title="Loose", text="text")
    window = make_window()
    document = window.open_document(doc)
    tree = window.library_pane.tree
    folder_item = window.library_pane.item_for(folder)
    assert tree.folder_at(tree.visualItemRect(folder_item).center()) == folder
    assert tree.folder_at(tree.viewport().rect().bottomLeft()) == library.root
    tree.dropped.emit(doc, folder)  # what LibraryTree.dropEvent emits for a real drop
    assert (folder / "Loose.md").exists() and not doc.exists()
    assert document.path == folder / "Loose.md"
    assert window.library_pane.item_for(folder / "Loose.md") is not None


def test_closing_the_window_backs_up_the_library(make_window: Any, library: Library) -> None:
    from desktop import paths
    from desktop.ui.backup_schedule import wait_for_close_backups

    library.create_document(title="Keep", text="safe")
    window = make_window()
    window.close()
    assert wait_for_close_backups(30)  # what the app does before the process exits
    assert [p.suffix for p in paths.backups_dir().glob("Library-*")] == [".zip"]
