"""Settings > AI > Models…: add a model from a GGUF file (a real build in its own process),
measure it, make it the default (the status bar names it and it writes the suggestion), remove
it; the model that comes with Draftsmith stays. Real tiny models, real onnxruntime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from gguf import GGMLQuantizationType as Q

from desktop.library import Library
from desktop.settings import Settings
from desktop.ui.ai_feature import AIFeature, install_ai
from inference.model_folder import MANIFEST_NAME
from inference.model_registry import speed_file
from tests.tiny_model import write_tiny_gguf

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise"),
]

TEXT = "The keeper climbed the stairs. The lamp was cold."
BUILD_TIMEOUT_MS = 240_000


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path) -> Path:
    """A model cache holding one model: the built-in one (a renamed tiny model)."""
    root = tmp_path / "models"
    monkeypatch.setenv("DRAFTSMITH_MODEL_CACHE", str(root))
    monkeypatch.setattr("inference.model_cache.bundled_models_dir", lambda: tmp_path / "bundle")
    target = root / "built-in"
    shutil.copytree(tiny_model_dir, target)
    manifest = json.loads((target / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["name"] = "Built-in tiny"
    manifest["source"]["is_default"] = True
    (target / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    return root


def ready_window(qtbot: Any, make_window: Any, library: Library) -> tuple[Any, AIFeature, Any]:
    window = make_window()
    document = window.open_document(library.create_document(title="Story", text=TEXT))
    feature = install_ai(window, auto_ghost=False)
    qtbot.waitUntil(lambda: feature.ready, timeout=20_000)
    return window, feature, document.editor


def names(dialog: Any) -> list[str]:
    return [dialog.table.item(row, 1).text() for row in range(dialog.table.rowCount())]


def test_add_set_default_generate_and_remove(
    qtbot: Any,
    make_window: Any,
    library: Library,
    prompter: Any,
    fast_settings: Settings,
    cache: Path,
    tmp_path: Path,
) -> None:
    window, feature, editor = ready_window(qtbot, make_window, library)
    assert feature.model_label.text() == "Model: Built-in tiny"
    # A status message takes the model's place while it shows, so it is not cut off.
    window.statusBar().showMessage("Rewrite: the answer did not pass its check.")
    assert feature.model_label.isHidden()
    window.statusBar().clearMessage()
    assert not feature.model_label.isHidden()
    assert window.registry.action("ai.models") in feature.settings_menu.actions()

    window.registry.trigger("ai.models")  # Settings > AI > Models…
    dialog = feature.models_dialog
    assert dialog is not None and dialog.isVisible()
    assert names(dialog) == ["Built-in tiny (built-in) — answering now"]
    assert dialog.table.item(0, 0).text() == "✓"
    dialog.table.selectRow(0)
    assert not dialog.remove_button.isEnabled(), "the built-in model can't be removed"

    # Add: a writer picks a GGUF file; the real build runs in its own process.
    gguf = write_tiny_gguf(tmp_path / "Story-Llama.Q4_1.gguf", seed=7)
    prompter.open_paths.append(gguf)
    dialog.add_button.click()
    build = dialog.add_dialog
    assert build is not None and build.running() and feature.build_dialog is build
    with qtbot.waitSignal(dialog.measured, timeout=BUILD_TIMEOUT_MS) as measured:
        pass
    assert measured.args[1] == "", dialog.message.text()
    assert build.built_path is not None and build.built_path.parent == cache
    added = build.built_path
    assert len(names(dialog)) == 2 and "Tiny Llama (test)" in names(dialog)
    row = next(r for r, e in enumerate(dialog.entries) if e.path == added)
    cells = [dialog.table.item(row, c).text() for c in range(dialog.table.columnCount())]
    assert cells[0] == "" and cells[2] == "llama"
    assert cells[3] == "Q4_1 → q4, fp32"
    assert cells[5] == "256 tokens" and cells[7] == "not recorded"
    assert cells[6].endswith(" tokens/s") and float(cells[6].split()[0]) > 0
    assert speed_file(added).is_file() and not (added / speed_file(added).name).exists()
    assert dialog.selected() is not None and dialog.selected().path == added
    assert feature.host.model_folder == cache / "built-in", "adding did not swap the model"

    # Set as default: saved to the settings file, loaded, named in the status bar.
    dialog.default_button.click()
    assert Settings(fast_settings.path).ai_model_dir() == added
    qtbot.waitUntil(lambda: feature.ready and feature.host.model_folder == added, timeout=20_000)
    assert feature.model_label.text() == "Model: Tiny Llama (test)"
    assert dialog.table.item(row, 0).text() == "✓"
    dialog.default_button.click()
    assert "is the default already" in dialog.message.text() and feature.ready, "no reload"

    # Generate with it.
    editor.setFocus()
    editor.set_cursor_position(len(TEXT))
    with qtbot.waitSignal(feature.host.finished, timeout=20_000) as finished:
        window.registry.trigger("ai.continue")
    assert not finished.args[0].cancelled
    qtbot.waitUntil(lambda: editor.ghost_text() != "", timeout=5_000)

    # Remove it: it answers now, so the question says so; "No" keeps it.
    dialog.select(added)
    prompter.confirms.append(False)
    dialog.remove_button.click()
    assert "answering in the editor now" in prompter.messages("confirm")[-1]
    assert added.is_dir()
    prompter.confirms.append(True)
    dialog.remove_button.click()
    assert not added.exists() and not speed_file(added).exists()
    assert Settings(fast_settings.path).ai_model_dir() is None, "back to the built-in model"
    qtbot.waitUntil(
        lambda: feature.ready and feature.host.model_folder == cache / "built-in",
        timeout=20_000,
    )
    assert feature.model_label.text() == "Model: Built-in tiny"
    assert names(dialog) == ["Built-in tiny (built-in) — answering now"]
    dialog.close()


def test_a_file_that_cannot_be_built_is_refused_in_plain_words(
    qtbot: Any, make_window: Any, library: Library, cache: Path, tmp_path: Path
) -> None:
    _window, feature, _editor = ready_window(qtbot, make_window, library)
    dialog = feature.open_models_dialog()
    bf16 = write_tiny_gguf(tmp_path / "bf16.gguf", linear_type=Q.BF16)
    build = dialog.add_from_gguf(bf16)
    assert build is not None
    with qtbot.waitSignal(build.finished_build, timeout=BUILD_TIMEOUT_MS) as done:
        pass
    assert done.args == [False]
    message = dialog.message.text()
    assert "stored as BF16" in message and "supported types are" in message and "Q4_K" in message
    assert names(dialog) == ["Built-in tiny (built-in) — answering now"], "nothing half-built"
    build.close()
    dialog.close()


def test_without_the_model_tools_the_dialog_says_how_to_get_them(
    qtbot: Any,
    make_window: Any,
    library: Library,
    prompter: Any,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    _window, feature, _editor = ready_window(qtbot, make_window, library)
    dialog = feature.open_models_dialog()
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name)
    )
    dialog.add_button.click()
    assert dialog.add_dialog is None, "no build started, no file asked for"
    assert "tf2onnx is not installed" in dialog.message.text()
    assert "pip install 'draftsmith[export]'" in dialog.message.text()
    dialog.close()


def test_the_settings_page_opens_the_dialog_and_shows_its_choice(
    qtbot: Any, make_window: Any, library: Library, cache: Path, tiny_model_dir: Path
) -> None:
    window, feature, _editor = ready_window(qtbot, make_window, library)
    other = cache / "other"
    shutil.copytree(tiny_model_dir, other)
    window.show_settings("ai")
    settings = window.settings_dialog
    assert settings.models_button.isEnabled()
    settings.models_button.click()
    dialog = feature.models_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.select(other)
    dialog.default_button.click()
    assert settings.model_dir.text() == str(other), "the Settings page follows the choice"
    qtbot.waitUntil(lambda: feature.ready and feature.host.model_folder == other, timeout=20_000)
    assert feature.model_label.text() == "Model: Tiny Llama (test)"
    assert "Tiny Llama (test)" in feature.model_label.toolTip() and str(other) in (
        feature.model_label.toolTip()
    )
    dialog.close()
    settings.close()


def test_a_cancelled_add_leaves_the_list_as_it_was(
    qtbot: Any, make_window: Any, library: Library, cache: Path, tmp_path: Path
) -> None:
    _window, feature, _editor = ready_window(qtbot, make_window, library)
    dialog = feature.open_models_dialog()
    build = dialog.add_from_gguf(write_tiny_gguf(tmp_path / "story.gguf", seed=3))
    assert build is not None
    # Cancelled once the build is writing into its temporary folder in the cache.
    qtbot.waitUntil(lambda: "Dequantizing" in build.log.toPlainText(), timeout=120_000)
    with qtbot.waitSignal(build.finished_build, timeout=30_000) as finished:
        build.cancel_button.click()
    assert finished.args == [False] and build.state.text().startswith("Cancelled")
    assert names(dialog) == ["Built-in tiny (built-in) — answering now"]
    assert sorted(p.name for p in cache.iterdir()) == ["built-in"], "no half-built folder"
    assert dialog.message.text() == "" and feature.ready
    build.close()
    dialog.close()
