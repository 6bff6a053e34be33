"""Settings (Ctrl+,): every option is saved to settings.json at once, applied live, and read
back after a restart; the AI feature takes its options from there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtGui import QKeySequence

from desktop import paths
from desktop.library import Library
from desktop.settings import Settings
from desktop.ui.settings_dialog import PAGES, SettingsDialog


def open_settings(window: Any, page: str = "editor") -> SettingsDialog:
    window.show_settings(page)
    dialog = window.settings_dialog
    assert isinstance(dialog, SettingsDialog) and dialog.isVisible()
    assert dialog.current_page() == page
    return dialog


def test_ctrl_comma_opens_settings_with_every_page(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    action = window.registry.action("settings.open")
    assert action.shortcut() == QKeySequence("Ctrl+,")
    assert action in window.menu("Settings").actions()
    window.registry.trigger("settings.open")
    dialog = window.settings_dialog
    assert dialog.isVisible()
    titles = [dialog.pages.item(i).text() for i in range(dialog.pages.count())]
    assert titles == ["Editor", "Appearance", "AI", "Sync", "License"]
    assert len(PAGES) == 5
    # The old menu items are shortcuts into it.
    dialog.hide()
    window.registry.trigger("settings.font")
    assert dialog.isVisible() and dialog.current_page() == "editor"


def test_every_option_persists_across_a_restart(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    window = make_window()
    editor = window.open_document(library.create_document(title="A", text="words")).editor
    dialog = open_settings(window)
    dialog.font_size.setValue(17)
    dialog.line_spacing.setValue(180)
    dialog.measure.setValue(60)
    dialog.smart.setChecked(True)
    dialog.goal.setValue(750)
    dialog.language.setCurrentIndex(dialog.language.findData("fr"))
    dialog.show_page("appearance")
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.show_page("ai")
    dialog.suggest.setChecked(False)
    dialog.delay.setValue(2.5)
    dialog.temperature.setValue(1.2)
    dialog.length.setValue(120)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.model_dir.setText("/models/mine")
    dialog.model_dir.editingFinished.emit()
    dialog.threads.setValue(3)

    # Applied live.
    assert editor.font().pointSize() == 17
    assert editor.line_spacing == 180 and editor.measure_chars == 60
    assert editor.smart_typography
    assert window.theme.name == "dark"
    assert window.registry.action("view.theme.dark").isChecked()
    assert window.registry.action("settings.smart").isChecked()
    assert window.writing_status.today.text().endswith("/ 750")

    # Saved at once: a fresh start reads the same values.
    raw = json.loads(paths.settings_path().read_text(encoding="utf-8"))
    assert raw["font_size"] == 17 and raw["theme"] == "dark"
    again = Settings()
    assert again.get_int("line_spacing") == 180
    assert again.get_int("measure_chars") == 60
    assert again.get_bool("smart_typography") is True
    assert again.daily_word_goal() == 750
    assert again.get_bool("ai_suggest_after_pause") is False
    assert again.ai_suggest_delay_ms() == 2500
    assert again.ai_temperature() == 1.2
    assert again.ai_suggestion_tokens() == 120
    assert again.ai_device() == "cpu"
    assert again.ai_model_dir() == Path("/models/mine")
    assert again.ai_threads() == 3
    assert Library(library.root).spelling_language() == "fr"

    restarted = make_window(settings=again)
    shown = open_settings(restarted)
    assert shown.font_size.value() == 17 and shown.smart.isChecked()
    assert shown.theme.currentData() == "dark" and shown.delay.value() == 2.5
    assert shown.threads.value() == 3 and shown.model_dir.text() == "/models/mine"
    assert restarted.registry.action("view.theme.dark").isChecked()


def test_theme_menu_ticks_the_theme_in_use(make_window: Any) -> None:
    window = make_window()
    window.registry.trigger("view.theme.dark")
    checked = [
        t
        for t in ("light", "dark", "system")
        if window.registry.action(f"view.theme.{t}").isChecked()
    ]
    assert checked == ["dark"]
    window.registry.trigger("view.theme.light")
    checked = [
        t
        for t in ("light", "dark", "system")
        if window.registry.action(f"view.theme.{t}").isChecked()
    ]
    assert checked == ["light"]


def test_sync_and_license_pages_open_the_existing_windows(
    qtbot: Any, make_window: Any, monkeypatch: Any
) -> None:
    window = make_window()
    opened: list[str] = []
    window.registry.register("sync.setup", "Set up sync…", lambda: opened.append("sync"))
    monkeypatch.setattr(window, "show_license", lambda: opened.append("license"))
    dialog = open_settings(window, "sync")
    button = dialog.findChild(type(dialog.license_button), "SettingsButton.sync.setup")
    assert button is not None
    button.click()
    dialog.show_page("license")
    dialog.license_button.click()
    assert opened == ["sync", "license"]


def test_the_license_page_says_where_the_license_stands_each_time_it_shows(
    qtbot: Any, make_window: Any, monkeypatch: Any
) -> None:
    import dataclasses

    from licensing.client import status as license_module

    window = make_window()
    dialog = open_settings(window, "license")
    trial = license_module.license_status()
    assert dialog.license_state.text() == trial.reason
    assert trial.reason.startswith("Free trial:")
    refunded = dataclasses.replace(trial, state="not_valid", reason="This license was refunded.")
    monkeypatch.setattr(license_module, "license_status", lambda: refunded)
    dialog.show_page("editor")
    dialog.show_page("license")
    assert dialog.license_state.text() == "This license was refunded."


def test_ai_feature_reads_saved_options_at_install_and_on_change(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Settings, tiny_model_dir: Path
) -> None:
    from desktop.ui.ai_feature import install_ai

    fast_settings.set("ai_model_dir", str(tiny_model_dir))
    fast_settings.set("ai_suggest_after_pause", False)
    fast_settings.set("ai_suggest_delay_ms", 1500)
    fast_settings.set("ai_suggestion_tokens", 20)
    fast_settings.set("ai_temperature", 0.0)
    fast_settings.set("ai_threads", 1)
    window = make_window()
    editor = window.open_document(library.create_document(title="S", text="Once upon")).editor
    feature = install_ai(window)
    assert feature.model_path == tiny_model_dir
    assert feature.ghost_delay_ms == 1500 and not feature.auto_ghost
    assert not window.registry.action("ai.auto_suggest").isChecked()
    qtbot.waitUntil(lambda: feature.ready, timeout=10_000)
    request = feature._continue_request(editor)
    assert request.max_new_tokens == 20 and request.sampling.temperature == 0.0

    dialog = open_settings(window, "ai")
    dialog.suggest.setChecked(True)
    dialog.delay.setValue(0.5)
    dialog.length.setValue(40)
    dialog.temperature.setValue(0.9)
    assert feature.auto_ghost and window.registry.action("ai.auto_suggest").isChecked()
    assert feature.ghost_delay_ms == 500
    request = feature._continue_request(editor)
    assert request.max_new_tokens == 40 and request.sampling.temperature == 0.9
    # The AI menu's toggle is the same, persisted option.
    window.registry.action("ai.auto_suggest").setChecked(False)
    assert Settings().get_bool("ai_suggest_after_pause") is False
    assert not dialog.isHidden()
    dialog.show()
    dialog.sync_from_settings()
    assert not dialog.suggest.isChecked()
    feature.shutdown()
