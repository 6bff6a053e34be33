"""Screenshots for the README: the main window in the light and dark themes, the Settings
dialog, find highlighting every match, and the document history's word diff.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python benchmarks/editor_screenshots.py

Uses a throw-away sample library and user dirs; writes assets/screenshots/editor-{light,dark}.png,
editor-settings.png, editor-find.png and editor-history.png.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHAPTER = """# Chapter 3 — The Lighthouse

Fog rolled in at **dusk**, and *nobody* came. Mara climbed the stair with the lamp held
high, counting the steps the way her father had taught her: one for the sea, two for the
boat, three for the ones who never came home.

> Keep the light burning, whatever the night brings.

She had written the letter twice already. The first version said too much; the second said
nothing at all. Tonight she would write the third, and she would send it.

## The letter

- the harbour, before the storm
- the rope that held, and the one that didn't
- the morning after

The wind pressed against the window like a hand. Somewhere below, the tide turned.
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[name] = str(Path(tmp) / name.lower())
        sys.path.insert(0, str(REPO))
        from PySide6.QtCore import QEventLoop, QTimer
        from PySide6.QtWidgets import QApplication

        from desktop.library import Library
        from desktop.settings import Settings
        from desktop.ui.main_window import MainWindow

        app = QApplication(sys.argv[:1])  # noqa: F841 (must outlive the window)
        library = Library(Path(tmp) / "Library")
        library.ensure_exists(welcome=False)
        book = library.create_folder(name="The Keeper's Daughter")
        library.create_document(book, "Chapter 1 — Arrival", "# Arrival\n\n" + "word " * 2140)
        library.create_document(book, "Chapter 2 — Salt", "# Salt\n\n" + "word " * 1876)
        chapter = library.create_document(book, "Chapter 3 — The Lighthouse", CHAPTER)
        library.create_folder(name="Notes")
        library.create_document(None, "Ideas", "- a storm\n- a letter\n")
        # This morning chapter 3 was empty: today's progress shows its words.
        import json
        from datetime import date

        from desktop import paths

        paths.progress_path().parent.mkdir(parents=True, exist_ok=True)
        paths.progress_path().write_text(
            json.dumps(
                {
                    "day": date.today().isoformat(),
                    "baselines": {str(library.relative(chapter)): 0},
                    "current": {},
                }
            )
        )
        settings = Settings()
        settings.set("daily_word_goal", 1000)
        window = MainWindow(library, settings)
        window.resize(1280, 800)
        window.show()
        document = window.open_document(chapter)
        cursor = document.editor.textCursor()
        cursor.setPosition(CHAPTER.index("Tonight"))
        document.editor.setTextCursor(cursor)

        def settle(ms: int) -> None:
            loop = QEventLoop()
            QTimer.singleShot(ms, loop.quit)
            loop.exec()

        while window.spell is None:
            settle(50)
        out = REPO / "assets" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        for theme in ("light", "dark"):
            window.set_theme(theme)
            window.update_counts()
            settle(600)
            window.grab().save(str(out / f"editor-{theme}.png"))
            print("wrote", out / f"editor-{theme}.png")
        window.set_theme("light")

        def save(widget: object, name: str) -> None:
            settle(400)
            widget.grab().save(str(out / name))  # type: ignore[attr-defined]
            print("wrote", out / name)

        window.show_settings("editor")
        save(window.settings_dialog, "editor-settings.png")
        window.settings_dialog.hide()

        window.open_find(replace=False)
        window.find_bar.find_input.setText("the")
        window.find_bar.search_as_you_type()
        save(window, "editor-find.png")
        window.find_bar.close_bar()

        # History: an earlier draft of the chapter against today's text.
        from desktop.ui.snapshot_dialog import SnapshotDialog

        earlier = CHAPTER.replace("Fog rolled in at **dusk**", "Fog came at night").replace(
            "Tonight she would write the third, and she would send it.",
            "Tonight she would try again.",
        )
        library.snapshots.take(chapter, earlier, "autosnapshot")
        history = SnapshotDialog(library.snapshots.list(chapter), CHAPTER, window)
        history.show()
        save(history, "editor-history.png")
        history.close()
        for doc in window.documents:
            doc.close()


if __name__ == "__main__":
    main()
