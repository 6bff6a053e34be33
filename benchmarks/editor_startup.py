"""Editor figures: time from process start to an editable document, and typing latency on a
200,000-word document.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/editor_startup.py
    xvfb-run -a .venv/bin/python benchmarks/editor_startup.py       # with a real X server

Everything runs in a throw-away library and throw-away user dirs; nothing touches the network.
Prints figures; never pass/fail.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORDS = [
    "the",
    "sea",
    "light",
    "keeper",
    "harbour",
    "fog",
    "rolled",
    "in",
    "at",
    "dusk",
    "and",
    "nobody",
    "came",
    "boat",
    "rope",
    "lamp",
    "night",
    "storm",
    "quiet",
    "window",
    "stair",
    "wind",
    "salt",
    "letter",
    "morning",
    "tide",
]


def child_startup(library: str) -> None:
    """Runs in a fresh interpreter; prints READY once the editor accepts typing."""
    sys.path.insert(0, str(REPO))
    from PySide6.QtWidgets import QApplication

    from desktop.ui.app import build_window

    app = QApplication(sys.argv[:1])
    window = build_window(Path(library))
    assert window is not None
    window.show()
    editor = window.current_editor()
    while editor is None or not window.isVisible() or editor.isReadOnly():
        app.processEvents()
        editor = window.current_editor()
    app.processEvents()
    print("READY", flush=True)
    window.close()


def measure_startup(runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ)
            for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
                env[name] = str(Path(tmp) / name.lower())
            library = Path(tmp) / "Library"
            library.mkdir()
            (library / "Chapter 1.md").write_text(
                "# Chapter 1\n\nIt was a quiet night.\n", encoding="utf-8"
            )
            start = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, __file__, "--child", str(library)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith("READY"):
                    times.append(time.perf_counter() - start)
                    break
            process.wait(timeout=60)
    return times


def big_document(words: int) -> str:
    rng = random.Random(7)
    paragraphs, count = [], 0
    while count < words:
        n = rng.randint(40, 120)
        paragraphs.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + ".")
        count += n
        if len(paragraphs) % 25 == 0:
            paragraphs.append(f"## Section {len(paragraphs) // 25}")
    return "\n\n".join(paragraphs) + "\n"


def measure_typing(words: int = 200_000, keys: int = 300) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[name] = str(Path(tmp) / name.lower())
        sys.path.insert(0, str(REPO))
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication

        from desktop.library import Library
        from desktop.library.word_count import count_words
        from desktop.settings import Settings
        from desktop.ui.main_window import MainWindow

        app = QApplication.instance() or QApplication(sys.argv[:1])
        library = Library(Path(tmp) / "Library")
        library.ensure_exists(welcome=False)
        text = big_document(words)
        path = library.create_document(title="Big", text=text)
        settings = Settings()
        window = MainWindow(library, settings, load_spelling=False)
        window.show()
        start = time.perf_counter()
        document = window.open_document(path)
        app.processEvents()
        load = time.perf_counter() - start
        editor = document.editor
        # Spell check on, as a writer would have it (dictionary loaded in its worker).
        window.load_spelling()
        while window.spell is None:
            app.processEvents()
        while editor.highlighter.is_busy():
            app.processEvents()
        editor.set_cursor_position(len(text) // 2)
        editor.centerCursor()
        app.processEvents()
        latencies = []
        for index in range(keys):
            key = Qt.Key.Key_Space if index % 6 == 5 else Qt.Key.Key_A
            t0 = time.perf_counter()
            QTest.keyClick(editor, key)
            editor.viewport().repaint()  # include painting the frame
            app.processEvents()
            latencies.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        window.update_counts()
        recount = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        document.write_journal()
        journal = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        document.save()
        save = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        full = count_words(editor.text())
        full_count = (time.perf_counter() - t0) * 1000
        for doc in window.documents:
            doc.close()
        window.close()
        latencies.sort()
        return {
            "words": full,
            "load_s": load,
            "median_ms": statistics.median(latencies),
            "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
            "max_ms": latencies[-1],
            "recount_ms": recount,
            "full_regex_count_ms": full_count,
            "journal_ms": journal,
            "save_ms": save,
        }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child_startup(sys.argv[2])
        return
    os.environ.setdefault(
        "QT_QPA_PLATFORM",
        "offscreen" if not os.environ.get("DISPLAY") else os.environ.get("QT_QPA_PLATFORM", "xcb"),
    )
    print(
        f"Qt platform: {os.environ.get('QT_QPA_PLATFORM')}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    times = measure_startup()
    print(
        f"Start-up to an editable document: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, {len(times)} runs, includes "
        "interpreter start)"
    )
    figures = measure_typing()
    print(f"200k-word document ({figures['words']:,} words): opened in {figures['load_s']:.2f} s")
    print(
        f"Typing latency per key (key event + repaint): median {figures['median_ms']:.1f} ms, "
        f"p95 {figures['p95_ms']:.1f} ms, max {figures['max_ms']:.1f} ms "
        "(one frame at 60 Hz = 16.7 ms)"
    )
    print(
        f"Off the keystroke path: word recount {figures['recount_ms']:.1f} ms (debounced "
        f"300 ms; a full regex count would take {figures['full_regex_count_ms']:.1f} ms), "
        f"journal hand-off to its thread {figures['journal_ms']:.1f} ms, "
        f"atomic save {figures['save_ms']:.1f} ms (GUI thread)"
    )


if __name__ == "__main__":
    main()
