"""AI › Learn my style…: the dialog runs the real ``draftsmith-model learn`` process on the
tiny model, shows steps with the time left, stops on Cancel keeping the checkpoint, resumes
from it, says the result in plain words and switches to the adapted model on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from desktop.library import Library
from desktop.library.library import WELCOME_TEXT
from desktop.ui.ai_feature import install_ai
from desktop.ui.learn_style_dialog import time_left
from inference.model_folder import ModelFolder
from tests.export.test_learn_style import write_pattern_corpus

pytestmark = [pytest.mark.qt_log_ignore("propagateSizeHints")]

STEPS = 12


def test_learn_cancel_resume_and_use_the_adapted_model(
    qtbot: Any,
    make_window: Any,
    library: Library,
    tiny_gguf: Path,
    tiny_model_dir: Path,
    tmp_path: Path,
    isolated_user_dirs: dict[str, Path],
) -> None:
    write_pattern_corpus(library.root)  # the whole library is what the writer picks
    window = make_window()
    feature = install_ai(window, model_path=tiny_model_dir, auto_ghost=False)
    qtbot.waitUntil(lambda: feature.ready, timeout=20_000)
    assert window.registry.action("ai.learn_style") in window.menu("AI").actions()
    cache = tmp_path / "models"
    dialog = feature.open_learn_dialog(
        [
            *("--model", str(tiny_model_dir), "--gguf", str(tiny_gguf)),
            *("--steps", str(STEPS), "--context", "32", "--learning-rate", "0.01"),
            *("--cache-dir", str(cache), "--threads", "1"),
        ]
    )
    assert dialog.whole_library.isChecked() and dialog.chosen_folder() == library.root

    dialog.start_button.click()
    assert dialog.running() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress.value() >= 2, timeout=240_000)
    assert dialog.progress.maximum() == STEPS
    assert f"of {STEPS}" in dialog.state.text() and "left" in dialog.state.text()
    with qtbot.waitSignal(dialog.finished_learning, timeout=120_000) as stopped:
        dialog.cancel_button.click()
    assert stopped.args == [3]
    assert dialog.state.text().startswith("Stopped. What was learned so far is kept")
    assert not dialog.use_button.isVisible()
    run_dirs = list((isolated_user_dirs["data"] / "Draftsmith" / "learn").iterdir())
    assert [p.name for p in run_dirs[0].iterdir()] == ["checkpoints"]

    with qtbot.waitSignal(dialog.finished_learning, timeout=300_000) as finished:
        dialog.start_button.click()
    assert finished.args == [0], dialog.state.text()
    assert dialog.result_label.text().startswith("Suggestions now predict your held-out documents")
    result = json.loads((run_dirs[0] / "result.json").read_text("utf-8"))
    assert 0 < result["resumed_from"] < STEPS  # the second run continued, not restarted
    assert dialog.use_button.isVisible()

    dialog.use_button.click()
    adapted = ModelFolder.open(dialog.model_path)
    assert window.settings.ai_model_dir() == adapted.path
    qtbot.waitUntil(lambda: feature.ready and feature.model_path == adapted.path, timeout=30_000)
    assert sorted(p.name for p in library.root.iterdir() if not p.name.startswith(".")) == [
        f"chapter-{i}.md" for i in range(6)
    ]
    dialog.close()


def test_a_folder_that_cannot_be_learned_from_is_explained(
    qtbot: Any, make_window: Any, library: Library, tiny_model_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    feature = install_ai(window, model_path=tiny_model_dir, auto_ghost=False)
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "only.md").write_text("A single chapter.", encoding="utf-8")
    window.prompter.folders.append(tmp_path / "one")
    dialog = feature.open_learn_dialog(["--model", str(tiny_model_dir)])
    dialog.browse_button.click()
    assert dialog.one_folder.isChecked() and dialog.chosen_folder() == tmp_path / "one"
    with qtbot.waitSignal(dialog.finished_learning, timeout=240_000) as finished:
        dialog.start_button.click()
    assert finished.args == [2]
    assert dialog.state.text() == (
        "Learning could not finish: Learning your style needs at least 2 documents (one is "
        "kept aside to measure the result); found 1."
    )
    assert dialog.start_button.isEnabled() and not dialog.use_button.isVisible()
    dialog.close()


def test_the_untouched_welcome_page_is_not_learned_from(
    qtbot: Any, make_window: Any, library: Library, tiny_model_dir: Path, tmp_path: Path
) -> None:
    window = make_window()
    feature = install_ai(window, model_path=tiny_model_dir, auto_ghost=False)
    folder = tmp_path / "new library"
    folder.mkdir()
    (folder / "Welcome.md").write_text(WELCOME_TEXT, encoding="utf-8")
    (folder / "Chapter one.md").write_text("The ferry left an hour late. " * 40, encoding="utf-8")
    window.prompter.folders.append(folder)
    dialog = feature.open_learn_dialog(["--model", str(tiny_model_dir)])
    dialog.browse_button.click()
    with qtbot.waitSignal(dialog.finished_learning, timeout=240_000) as finished:
        dialog.start_button.click()
    assert finished.args == [2]
    assert dialog.state.text().endswith("found 1."), dialog.state.text()
    # Once the writer has written in it, it is their text like any other.
    (folder / "Welcome.md").write_text(WELCOME_TEXT + "\nMy own line.\n", encoding="utf-8")
    with qtbot.waitSignal(dialog.finished_learning, timeout=240_000) as finished:
        dialog.start_button.click()
    assert finished.args == [2]
    assert "The 2 documents found hold" in dialog.state.text(), dialog.state.text()
    dialog.close()


def test_time_left_reads_naturally() -> None:
    assert time_left(None) == ""
    assert time_left(0.2) == "about 1 second left"
    assert time_left(40) == "about 40 seconds left"
    assert time_left(600) == "about 10 minutes left"
