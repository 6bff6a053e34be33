"""Screenshots of AI help for the README: ghost text, and a task streamed into the AI pane.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python benchmarks/ai_screenshots.py

Uses the built default model, a throw-away library and user dirs; writes
assets/screenshots/ai-ghost-text.png and ai-task-pane.png."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from editor_screenshots import CHAPTER  # noqa: E402


def main() -> None:
    from inference.model_folder import find_default_model

    model = find_default_model()  # resolved before the user dirs move
    if model is None:
        sys.exit("Build the default model first: .venv/bin/draftsmith-model build")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            os.environ[name] = str(Path(tmp) / name.lower())
        from PySide6.QtCore import QEventLoop, QTimer
        from PySide6.QtGui import QTextCursor
        from PySide6.QtWidgets import QApplication

        from desktop.library import Library
        from desktop.settings import Settings
        from desktop.ui.ai_feature import install_ai
        from desktop.ui.main_window import MainWindow

        app = QApplication(sys.argv[:1])  # noqa: F841 (must outlive the window)
        library = Library(Path(tmp) / "Library")
        library.ensure_exists(welcome=False)
        chapter = library.create_document(None, "Chapter 3 — The Lighthouse", CHAPTER)
        window = MainWindow(library, Settings())
        window.resize(1280, 800)
        window.show()
        document = window.open_document(chapter)
        editor = document.editor
        feature = install_ai(window, model_path=model.path, auto_ghost=False)

        def settle(ms: int) -> None:
            loop = QEventLoop()
            QTimer.singleShot(ms, loop.quit)
            loop.exec()

        def wait(condition, limit_ms: int = 60_000) -> None:
            waited = 0
            while not condition() and waited < limit_ms:
                settle(50)
                waited += 50

        wait(lambda: feature.ready)
        out = REPO / "assets" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)

        cursor = editor.textCursor()
        cursor.setPosition(CHAPTER.index("nothing at all."))
        editor.setTextCursor(cursor)
        editor.setFocus()
        window.registry.trigger("ai.continue")
        wait(lambda: feature.ghost_job is None and editor.ghost_text() != "")
        settle(400)
        print("ghost text:", repr(editor.ghost_text()))
        window.grab().save(str(out / "ai-ghost-text.png"))

        editor.dismiss_ghost_text() if hasattr(editor, "dismiss_ghost_text") else None
        start = CHAPTER.index("She had written")
        cursor.setPosition(start)
        cursor.setPosition(CHAPTER.index("\n", start + 100), QTextCursor.MoveMode.KeepAnchor)
        editor.setTextCursor(cursor)
        window.registry.trigger("ai.rewrite")
        settle(300)
        wait(lambda: not feature.host.busy(), 120_000)
        settle(500)
        window.grab().save(str(out / "ai-task-pane.png"))
        for name in ("ai-ghost-text.png", "ai-task-pane.png"):
            print("wrote", out / name)
        feature.shutdown() if hasattr(feature, "shutdown") else None
        for doc in window.documents:
            doc.close()


if __name__ == "__main__":
    main()
