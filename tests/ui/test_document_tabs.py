"""The open documents as tabs (desktop/ui/document_tabs.py): Save all, the unsaved marker,
a failed save, and a tab closed with unsaved text."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from PySide6.QtGui import QTextCursor

import atomic_write as atomic_write_module
from desktop.library import Library
from desktop.settings import Settings
from tests.ui.conftest import ScriptedPrompter, type_into


def test_save_all_writes_every_edited_tab(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Settings
) -> None:
    fast_settings.set("autosave_seconds", 3600)  # only Save all can write them
    one = library.create_document(None, "One", "one")
    two = library.create_document(None, "Two", "two")
    window = make_window()
    for document in (window.open_document(one), window.open_document(two)):
        document.editor.moveCursor(QTextCursor.MoveOperation.End)
        type_into(qtbot, document.editor, ", edited")
    assert [window.tabs.tabText(i) for i in range(2)] == ["One •", "Two •"]
    window.registry.trigger("file.save_all")
    qtbot.waitUntil(
        lambda: (
            one.read_text(encoding="utf-8") == "one, edited"
            and two.read_text(encoding="utf-8") == "two, edited"
        ),
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: [window.tabs.tabText(i) for i in range(2)] == ["One", "Two"])


def test_a_tab_that_cannot_save_is_closed_only_when_the_writer_agrees(
    qtbot: Any,
    make_window: Any,
    library: Library,
    prompter: ScriptedPrompter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = library.create_document(None, "Draft", "draft")
    window = make_window()
    document = window.open_document(path)
    type_into(qtbot, document.editor, "new words ")

    def disk_full(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_write_module.tempfile, "mkstemp", disk_full)
    prompter.confirms.append(False)
    assert not window.close_tab(window.tabs.currentIndex())
    assert window.documents == [document] and window.tabs.count() == 1
    assert "couldn't be saved" in prompter.messages("confirm")[-1]
    assert "recovery journal" in prompter.messages("confirm")[-1]
    prompter.confirms.append(True)
    assert window.close_tab(window.tabs.currentIndex())
    assert window.documents == [] and window.tabs.count() == 0
    assert path.read_text(encoding="utf-8") == "draft"
