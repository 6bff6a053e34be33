"""First run of the installed app with its bundled model missing: the AI says so in plain words,
offers no model build (that needs TensorFlow, which the installed app never has), and the
editor works."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from desktop.library import Library
from tests.ui.conftest import fast_settings, library, make_window, prompter  # noqa: F401
from tests.ui.test_ai_editor import TEXT, install_ai, open_doc


def test_installed_app_without_its_model_says_reinstall_and_the_editor_works(
    qtbot: Any,
    make_window: Any,  # noqa: F811
    library: Library,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setenv("DRAFTSMITH_MODEL_CACHE", str(tmp_path / "no-models"))
    monkeypatch.setattr("inference.model_cache.bundled_models_dir", lambda: tmp_path / "gone")
    window, _document, editor = open_doc(make_window, library)
    # The installed app is faked in this process: load the model here too (the model's own
    # process of a real installed app is its binary with --model-process, see
    # tests/ui/test_model_process.py).
    feature = install_ai(window, auto_ghost=False, model_process=False)
    qtbot.waitUntil(lambda: feature.notice.message() != "", timeout=10_000)
    message = feature.notice.message()
    assert "comes with Draftsmith is missing" in message and "Reinstall Draftsmith" in message
    shown = message + feature.status.toolTip() + feature.notice.toolTip()
    assert "draftsmith-model" not in shown and "TensorFlow" not in shown
    assert "Build model" not in shown
    assert not [a for a in feature.settings_menu.actions() if "Build" in a.text()]
    editor.set_cursor_position(len(TEXT))
    qtbot.keyClicks(editor, "!")
    assert editor.text() == TEXT + "!"
