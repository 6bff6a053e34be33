"""Help › Keyboard shortcuts and About; recent documents; files from outside the library."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from desktop import paths
from desktop.library import Library
from desktop.settings import Settings
from tests.ui.conftest import ScriptedPrompter, type_into

REPO = Path(__file__).resolve().parents[2]


def test_keyboard_shortcuts_is_a_searchable_list_from_the_registry(make_window: Any) -> None:
    window = make_window()
    window.registry.register("test.late", "A late feature", lambda: None, shortcut="Ctrl+Alt+K")
    window.registry.trigger("help.shortcuts")
    dialog = window.shortcuts_dialog
    assert dialog.isVisible() and dialog.windowTitle() == "Keyboard shortcuts"
    assert dialog.keys_for("Find…") == "Ctrl+F"
    assert dialog.keys_for("Settings…") == "Ctrl+,"
    assert dialog.keys_for("A late feature") == "Ctrl+Alt+K"
    assert "Command palette…" in dialog.visible_commands()
    dialog.search.setText("theme")  # nothing about themes has keys
    assert dialog.visible_commands() == []
    dialog.search.setText("ctrl+shift+p")
    assert dialog.visible_commands() == ["Command palette…"]
    dialog.search.setText("focus")
    assert dialog.visible_commands() == ["Focus mode", "Leave focus mode"]


def test_about_shows_version_model_license_and_folders(
    make_window: Any, fast_settings: Settings, library: Library, tiny_model_dir: Path
) -> None:
    import json

    fast_settings.set("ai_model_dir", str(tiny_model_dir))
    window = make_window()
    window.registry.trigger("help.about")
    dialog = window.about_dialog
    assert dialog.isVisible()
    shown = {label: field.text() for label, field in dialog.values.items()}
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert shown["Version"] == version
    manifest = json.loads((tiny_model_dir / "draftsmith-model.json").read_text())
    model_file = manifest["variants"][manifest["default_variant"]]["file"]
    assert shown["Model checksum (SHA-256)"] == manifest["files"][model_file]
    assert model_file in shown["AI model"]
    from licensing.client.status import license_status

    # The status's own sentence ("Free trial: 14 days left."), not the state said twice.
    assert shown["License"] == license_status().reason
    assert shown["Library"] == str(library.root)
    assert shown["Logs"] == str(paths.log_dir())
    assert shown["Backups"] == str(paths.backups_dir())


def test_about_without_a_model_says_so(make_window: Any, fast_settings: Settings) -> None:
    fast_settings.set("ai_model_dir", "/nowhere/model")
    window = make_window()
    window.show_about()
    shown = {label: field.text() for label, field in window.about_dialog.values.items()}
    assert shown["AI model"].startswith("Can't read the model")
    assert shown["Model checksum (SHA-256)"] == "—"


def test_recent_documents_survive_a_restart_and_reopen(
    make_window: Any, library: Library, fast_settings: Settings
) -> None:
    first = library.create_document(title="One", text="alpha")
    second = library.create_document(title="Two", text="beta")
    window = make_window()
    window.open_document(first)
    window.open_document(second)
    window.close()
    again = make_window(settings=Settings())
    again.fill_recent_menu()
    titles = [a.text() for a in again.recent_menu.actions() if a.text()]
    assert titles[:2] == ["Two", "One"] and titles[-1] == "Clear the list"
    again.recent_menu.actions()[1].trigger()
    assert again.current_document().path == first
    second.unlink()  # gone files are not offered
    again.fill_recent_menu()
    assert next(a.text() for a in again.recent_menu.actions() if a.text()) == "One"


def test_a_file_from_outside_the_library_opens_in_place(
    qtbot: Any, make_window: Any, library: Library, prompter: ScriptedPrompter, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "notes.md"
    outside.parent.mkdir()
    outside.write_text("Outside words.", encoding="utf-8")
    window = make_window()
    prompter.open_paths.append(outside)
    window.registry.trigger("file.open_file")
    document = window.current_document()
    assert document.path == outside
    assert "in place" in window.statusBar().currentMessage()
    document.editor.moveCursor(document.editor.textCursor().MoveOperation.End)
    type_into(qtbot, document.editor, " More.")
    assert document.save()
    assert outside.read_text(encoding="utf-8") == "Outside words. More."
    assert not list(library.root.glob("*.md")), "not copied into the library"
    window.registry.refresh_enabled()
    assert not window.registry.action("file.rename").isEnabled()
    assert window.tabs.tabToolTip(window.tabs.currentIndex()).startswith("Outside the library")
    window.fill_recent_menu()
    assert window.recent_menu.actions()[0].toolTip() == str(outside)


def test_recent_documents_follow_a_rename(
    qtbot: Any, make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    window = make_window()
    document = window.new_document()  # "Untitled", then named from its first line
    type_into(qtbot, document.editor, "Harbour notes")
    qtbot.waitUntil(lambda: document.path.name == "Harbour notes.md", timeout=10000)
    prompter.texts.append("Renamed")
    window.rename_path(None)
    window.fill_recent_menu()
    assert window.recent_menu.actions()[0].text() == "Renamed"
    assert Settings().recent_documents()[0] == library.root / "Renamed.md"


def test_menus_group_their_commands_with_separators(make_window: Any) -> None:
    window = make_window()
    window.registry.register("sync.test", "A late sync command", lambda: None, menu="Settings")

    def sections(title: str) -> list[list[str]]:
        groups: list[list[str]] = [[]]
        for action in window.menu(title).actions():
            if action.isSeparator():
                groups.append([])
            else:
                groups[-1].append(action.text())
        return groups

    file_menu = sections("File")
    assert all(file_menu), "no empty section: never two separators in a row, none first or last"
    assert ["Save", "Save all"] in file_menu
    exports = [g for g in file_menu if g[0].startswith("Export")]
    assert [len(g) for g in exports] == [5, 5]  # a document's formats, then a folder's
    assert file_menu[-1] == ["Close tab", "Quit"]
    assert ["Undo", "Redo"] in sections("Edit")
    assert sections("Settings")[-1] == ["A late sync command"]  # a feature gets its own block
    window.registry.register("late.command", "In a submenu", lambda: None, menu="Settings › Late")
    assert sections("Settings")[-1] == ["Late"]  # a new submenu is its own block too
    assert sections("Settings › Late") == [["In a submenu"]]
