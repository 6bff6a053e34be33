"""The sidebar's right-click menu (desktop/ui/library_operations.py): what it offers on a
folder, a document and the empty space, and that its entries act where the writer clicked."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMenu

from desktop.library import Library


def entries(menu: QMenu) -> list[tuple[str, bool]]:
    return [(a.text(), a.isEnabled()) for a in menu.actions() if not a.isSeparator()]


def choose(menu: QMenu, text: str) -> None:
    next(a for a in menu.actions() if a.text() == text).trigger()


def test_right_click_on_a_folder_offers_every_operation_and_folder_export(
    make_window: Any, library: Library
) -> None:
    book = library.create_folder(name="Book")
    window = make_window()
    shown = entries(window.library_operations.context_menu(book))
    titles = [text for text, _enabled in shown]
    assert titles[:5] == ["New document", "New folder…", "Rename…", "Move to…", "Move to trash"]
    assert any(text.startswith("Export folder as") for text in titles[5:])
    assert all(enabled for _text, enabled in shown)


def test_new_document_from_the_menu_lands_in_the_folder_clicked(
    make_window: Any, library: Library
) -> None:
    book = library.create_folder(name="Book")
    chapter = library.create_document(book, "Chapter", "text")
    window = make_window()
    menu = window.library_operations.context_menu(chapter)  # on a document: its folder
    assert [text for text, _ in entries(menu)] == [
        "New document",
        "New folder…",
        "Rename…",
        "Move to…",
        "Move to trash",
    ]
    choose(menu, "New document")
    assert window.current_document().path == book / "Untitled.md"
    assert (book / "Untitled.md").is_file()


def test_a_read_only_window_offers_nothing_that_writes(make_window: Any, library: Library) -> None:
    chapter = library.create_document(None, "Chapter", "text")
    folder = library.create_folder(name="Elsewhere")
    window = make_window(read_only=True)
    empty_space = window.library_operations.context_menu(None)
    assert entries(empty_space) == [("New document", False), ("New folder…", False)]
    assert not any(
        enabled for _text, enabled in entries(window.library_operations.context_menu(chapter))
    )
    window.library_pane.move_requested.emit(chapter, folder)  # a drag and drop in the sidebar
    assert chapter.exists() and not (folder / chapter.name).exists()


def test_moving_to_the_trash_says_where_it_went(make_window: Any, library: Library) -> None:
    chapter = library.create_document(None, "Chapter", "text")
    window = make_window()
    window.open_document(chapter)
    choose(window.library_operations.context_menu(chapter), "Move to trash")
    assert not chapter.exists() and not window.documents
    message = window.statusBar().currentMessage()
    if (library.root / ".trash" / "Chapter.md").exists():  # no system trash here
        assert (
            message
            == f"Moved to the library's trash folder {library.root / '.trash'}: “Chapter.md”."
        )
    else:
        assert message == "Moved to your system's trash, which can put it back: “Chapter.md”."
