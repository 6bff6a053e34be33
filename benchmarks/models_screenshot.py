"""Screenshots of Settings > AI > Models… for the README, taken through the real flow: the
default model answers, a small GGUF is added (a real ``draftsmith-model build`` in its own
process), both are measured here, the new one is made the default and the status bar names it.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python benchmarks/models_screenshot.py

Uses the built default model (linked into a throw-away model cache), a tiny random GGUF as the
model to add (no download), throw-away user dirs; writes assets/screenshots/models-*.png and
prints the measured speeds."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    from inference.model_folder import find_default_model

    model = find_default_model()  # resolved before the user dirs move
    if model is None:
        sys.exit("Build the default model first: .venv/bin/draftsmith-model build")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[name] = str(Path(tmp) / name.lower())
        cache = Path(tmp) / "models"
        cache.mkdir()
        os.environ["DRAFTSMITH_MODEL_CACHE"] = str(cache)
        (cache / model.path.name).symlink_to(model.path, target_is_directory=True)

        from PySide6.QtCore import QEventLoop, QTimer
        from PySide6.QtWidgets import QApplication

        from desktop.library import Library
        from desktop.settings import Settings
        from desktop.ui.ai_feature import install_ai
        from desktop.ui.main_window import MainWindow
        from tests.tiny_model import write_tiny_gguf

        app = QApplication(sys.argv[:1])  # noqa: F841 (must outlive the window)
        library = Library(Path(tmp) / "Library")
        library.ensure_exists(welcome=False)
        story = library.create_document(None, "Chapter 3", "The keeper climbed the stairs.")
        window = MainWindow(library, Settings())
        window.resize(1280, 800)
        window.show()
        window.open_document(story)
        feature = install_ai(window, auto_ghost=False)

        def settle(ms: int) -> None:
            loop = QEventLoop()
            QTimer.singleShot(ms, loop.quit)
            loop.exec()

        def wait(condition: Callable[[], bool], limit_ms: int = 300_000) -> None:
            waited = 0
            while not condition() and waited < limit_ms:
                settle(100)
                waited += 100

        wait(lambda: feature.ready)
        out = REPO / "assets" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        window.registry.trigger("ai.models")
        dialog = feature.models_dialog
        assert dialog is not None
        done: list[str] = []
        dialog.measured.connect(lambda key, _error: done.append(key))

        dialog.select(model.path)
        dialog.measure_selected()
        wait(lambda: len(done) == 1)

        gguf = write_tiny_gguf(Path(tmp) / "Story-Llama-2L.Q4_1.gguf", seed=7)
        build = dialog.add_from_gguf(gguf)
        assert build is not None
        wait(lambda: "Converting" in build.log.toPlainText() or not build.running())
        settle(300)
        build.grab().save(str(out / "models-add-progress.png"))
        wait(lambda: len(done) == 2)
        build.close()
        settle(300)
        dialog.grab().save(str(out / "models-dialog.png"))
        for entry in dialog.entries:
            speed = entry.speed.tokens_per_second if entry.speed else None
            print(f"{entry.name}: {speed} tokens/s ({entry.speed.device if entry.speed else ''})")

        dialog.default_button.click()
        wait(lambda: feature.ready and feature.host.model_folder == build.built_path)
        settle(500)
        dialog.grab().save(str(out / "models-dialog-new-default.png"))
        window.statusBar().grab().save(str(out / "models-status-bar.png"))
        print("status bar:", feature.model_label.text(), "|", feature.status.text())
        feature.shutdown()


if __name__ == "__main__":
    main()
