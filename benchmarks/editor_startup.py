"""Editor figures: time from process start to an editable document with one document and with
a large generated library (10,000 documents in 40 folders, in a temp dir; set
DRAFTSMITH_BENCH_DOCUMENTS for another size), the longest event-loop stall in the first seconds,
closing time, and typing and saving on a 200,000-word document. DRAFTSMITH_BENCH_RUNS sets how
many start-ups of each kind run (3; the stall figures vary by several ms from start to start);
DRAFTSMITH_BENCH_STALL_STACKS=file appends every thread's Python stack there whenever the event
loop stalls past 16 ms (to find what held it; the figures are then a little worse).

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
    """Runs in a fresh interpreter; prints READY once the editor accepts typing, then the
    longest event-loop stall while the start-up's background work runs (word counts,
    spelling dictionary, sync and AI imports, the AI model) and how long closing took."""
    sys.path.insert(0, str(REPO))
    from desktop.ui import pyside_import_check
    from desktop.ui.startup_objects import pause_collection

    pause_collection()  # as the ``draftsmith`` command does before importing the editor
    pyside_import_check.install()
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.ui.app import load_optional_features, open_window
    from desktop.ui.backup_schedule import wait_for_close_backups
    from tests.ui.event_loop_watch import EventLoopWatch

    app = QApplication(sys.argv[:1])
    window = open_window(Path(library))  # as the app does
    assert window is not None
    window.show()
    load_optional_features(window)  # as the app does: sync and AI, the model after 1.5 s
    editor = window.current_editor()
    while editor is None or not window.isVisible() or editor.isReadOnly():
        app.processEvents()
        editor = window.current_editor()
    app.processEvents()
    print("READY", flush=True)
    shown = time.perf_counter()
    # The stall monitor: a precise 2 ms timer; the longest gap between two ticks is the
    # longest time the event loop could not run anything (typing included). Each tick also
    # notes how long the GUI thread has waited for a CPU (other programs' load, not ours).
    dump_path = os.environ.get("DRAFTSMITH_BENCH_STALL_STACKS")
    dump_to = open(dump_path, "a", encoding="utf-8") if dump_path else None  # noqa: SIM115 (closed below)
    if dump_to is not None:
        print(f"=== start-up of {library} (ticks from {time.perf_counter():.3f})", file=dump_to)
        dump_to.flush()
    monitor = EventLoopWatch(dump_to)
    monitor.start()
    loop = QEventLoop()  # not app.exec(): quitting the app would close the window
    settled: list[float] = []

    def watch_done() -> None:
        ai = getattr(window, "ai", None)
        now = time.perf_counter()
        failed = ai is not None and not ai.ready and "loading" not in ai.reason
        gone = ai is None and now - shown > 10  # a build without the AI
        if not settled and (gone or failed or (ai is not None and ai.ready)) and now - shown > 2:
            settled.append(now)  # the model is loaded (or can't be): watch a little longer
        if (settled and now - settled[0] >= 1.0) or now - shown >= STALL_WATCH_MAX_SECONDS:
            loop.quit()

    check = QTimer(interval=50)
    check.timeout.connect(watch_done)
    check.start()
    loop.exec()
    check.stop()
    monitor.stop()
    if dump_to is not None:
        dump_to.close()
    stall, own = monitor.longest, monitor.longest_own
    ai = getattr(window, "ai", None)
    model = "loaded" if ai is not None and ai.ready else "not loaded"
    watched, at = time.perf_counter() - shown, monitor.longest_after
    print(f"STALL {stall:.4f} {own:.4f} {watched:.1f} {at:.3f} {model}", flush=True)
    editor.insertPlainText("One more line. ")  # the session changed something
    start = time.perf_counter()
    window.close()
    print(f"CLOSE {time.perf_counter() - start:.4f}", flush=True)
    wait_for_close_backups()  # what the app does before the process exits
    print(f"EXIT {time.perf_counter() - start:.4f}", flush=True)


STALL_WATCH_MAX_SECONDS = 20.0


def user_dirs(base: Path) -> dict[str, str]:
    """Throw-away user folders; the machine's model cache stays visible, so the AI model
    loads as it does for a writer (no model built here: the AI simply stays off)."""
    sys.path.insert(0, str(REPO))
    from inference.model_cache import CACHE_ENV, model_cache_root

    env = dict(os.environ)
    env.setdefault(CACHE_ENV, str(model_cache_root()))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(base / name.lower())
    return env


def run_child(library: Path, env: dict[str, str]) -> dict[str, float]:
    """One start-up: seconds to an editable document (including interpreter start), the
    longest stall in the first seconds after that, and the close time."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", str(library)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    figures: dict[str, float] = {}
    for line in process.stdout:
        if line.startswith("READY"):
            figures["ready_s"] = time.perf_counter() - start
        elif line.startswith("STALL"):
            _, stall, own, watched, at, model = line.split(maxsplit=5)
            figures["stall_s"], figures["own_stall_s"] = float(stall), float(own)
            figures["watched_s"], figures["stall_at_s"] = float(watched), float(at)
            figures["model_loaded"] = float(model.strip() == "loaded")
        elif line.startswith("CLOSE"):
            figures["close_s"] = float(line.split()[1])
        elif line.startswith("EXIT"):
            figures["exit_s"] = float(line.split()[1])
    process.wait(timeout=120)
    return figures


def make_large_library(root: Path, folders: int = 40, documents: int = 10_000) -> int:
    """``documents`` chapters (~800 words each) in ``folders`` folders; returns bytes."""
    rng = random.Random(11)
    total = 0
    per_folder = documents // folders
    for folder in range(1, folders + 1):
        where = root / f"Book {folder}"
        where.mkdir(parents=True)
        for chapter in range(1, per_folder + 1):
            words = " ".join(rng.choice(WORDS) for _ in range(800))
            data = f"# Chapter {chapter}\n\n{words.capitalize()}.\n".encode()
            (where / f"Chapter {chapter}.md").write_bytes(data)
            total += len(data)
    return total


def measure_startup(runs: int = 3, documents: int = 10_000) -> dict[str, object]:
    """One-document and large-library start-ups, interleaved in one run so both see the
    same machine. The large library's first start has no word-count cache (cold)."""
    sys.path.insert(0, str(REPO))
    from desktop import paths
    from desktop.library.backups import backup_library

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        large = base / "Large" / "Library"
        size = make_large_library(large, documents=documents)
        large_env = user_dirs(base / "large-user")
        # A library used before has a full backup from an earlier session.
        backup_library(
            large,
            Path(large_env["XDG_DATA_HOME"]) / paths.APP_NAME / paths.BACKUPS_DIR,
        )
        one: list[dict[str, float]] = []
        big: list[dict[str, float]] = []
        for run in range(runs + 1):  # the large library's extra first run is the cold one
            small_base = base / f"one-{run}"
            library = small_base / "Library"
            library.mkdir(parents=True)
            (library / "Chapter 1.md").write_text(
                "# Chapter 1\n\nIt was a quiet night.\n", encoding="utf-8"
            )
            # A new library each time, on a computer that has run the app before (its cache
            # folder, e.g. the spelling dictionary's table, is kept); run 0 only warms it.
            small_env = user_dirs(small_base)
            small_env["XDG_CACHE_HOME"] = str(base / "one-cache")
            started = run_child(library, small_env)
            if run:
                one.append(started)
            big.append(run_child(large, large_env))
    return {"one": one, "cold": big[0], "warm": big[1:], "documents": documents, "bytes": size}


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
        from desktop.ui.backup_schedule import wait_for_close_backups
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
        window.spelling.load()
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
        saved: list[float] = []
        document.saved.connect(lambda: saved.append(time.perf_counter()))
        t0 = time.perf_counter()
        document.save_in_background()  # what autosave and Ctrl+S do
        save = (time.perf_counter() - t0) * 1000
        while not saved:
            app.processEvents()
        save_done = (saved[0] - t0) * 1000
        QTest.keyClick(editor, Qt.Key.Key_A)
        t0 = time.perf_counter()
        document.save()  # "save now and wait" (closing, exporting)
        save_wait = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        full = count_words(editor.text())
        full_count = (time.perf_counter() - t0) * 1000
        for doc in window.documents:
            doc.close()
        window.close()
        wait_for_close_backups()  # as the app does: its zip goes into this temp dir
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
            "save_done_ms": save_done,
            "save_wait_ms": save_wait,
        }


def compile_bytecode() -> None:
    """An installed app (pip, PyInstaller) starts from compiled bytecode. A checkout run with
    PYTHONDONTWRITEBYTECODE set (as on CI machines) compiles every module at every start,
    each compile holding the interpreter lock for up to ~10 ms: a cost no writer sees."""
    import compileall

    for package in ("atomic_write", "desktop", "inference", "licensing", "tests"):
        compileall.compile_dir(REPO / package, quiet=1)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child_startup(sys.argv[2])
        return
    compile_bytecode()
    os.environ.setdefault(
        "QT_QPA_PLATFORM",
        "offscreen" if not os.environ.get("DISPLAY") else os.environ.get("QT_QPA_PLATFORM", "xcb"),
    )
    documents = int(os.environ.get("DRAFTSMITH_BENCH_DOCUMENTS", "10000"))
    runs = int(os.environ.get("DRAFTSMITH_BENCH_RUNS", "3"))
    print(
        f"Qt platform: {os.environ.get('QT_QPA_PLATFORM')}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    startup = measure_startup(runs=runs, documents=documents)
    one, warm, cold = startup["one"], startup["warm"], startup["cold"]
    assert isinstance(one, list) and isinstance(warm, list) and isinstance(cold, dict)

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    one_s, warm_s = median(one, "ready_s"), median(warm, "ready_s")
    print(
        f"Start-up to an editable document (median of {len(one)} interleaved runs, includes "
        "interpreter start):"
    )
    print(f"  one document:                      {one_s:.2f} s")
    print(
        f"  {startup['documents']:,} documents in 40 folders "
        f"({int(startup['bytes']) / 1e6:.0f} MB), word counts cached: {warm_s:.2f} s  "
        f"(ratio {warm_s / one_s:.2f}x)"
    )
    print(
        f"  same library, first start (no word-count cache): {cold['ready_s']:.2f} s  "
        f"(ratio {cold['ready_s'] / one_s:.2f}x)"
    )
    loaded = all(r["model_loaded"] for r in [*one, *warm, cold])
    print(
        "Longest event-loop stall after the window is editable, while counts, dictionary, "
        f"imports and the AI model load ({'model loaded' if loaded else 'NO model loaded'}; "
        f"watched {min(r['watched_s'] for r in one):.0f}-{max(r['watched_s'] for r in one):.0f} s):"
        f" one document {max(r['stall_s'] for r in one) * 1000:.0f} ms, large library "
        f"{max(r['stall_s'] for r in warm) * 1000:.0f} ms (first start "
        f"{cold['stall_s'] * 1000:.0f} ms); one frame = 16.7 ms"
    )
    stalls = sorted((r["stall_s"] * 1000, r["stall_at_s"]) for r in [*one, *warm, cold])
    print(
        f"  longest stall of each of the {len(stalls)} start-ups: median "
        f"{statistics.median(s for s, _ in stalls):.0f} ms, "
        f"{sum(s <= 16 for s, _ in stalls)} of {len(stalls)} <= 16 ms; all, in ms (seconds "
        f"after the window was editable): {', '.join(f'{s:.0f} ({at:.1f})' for s, at in stalls)}"
    )
    print(
        "  the same without the time the GUI thread waited for a CPU (other programs' load): "
        f"one document {max(r['own_stall_s'] for r in one) * 1000:.0f} ms, large library "
        f"{max(r['own_stall_s'] for r in warm) * 1000:.0f} ms (first start "
        f"{cold['own_stall_s'] * 1000:.0f} ms)"
    )
    print(
        f"Closing the window (after one edit): one document {median(one, 'close_s'):.2f} s, "
        f"large library {median(warm, 'close_s'):.2f} s (a full backup from an earlier "
        "session exists; closing backs up the session's changes after the window has gone: "
        f"written {median(warm, 'exit_s'):.2f} s after the close began, before the process "
        "exits)"
    )
    figures = measure_typing()
    print(f"200k-word document ({figures['words']:,} words): opened in {figures['load_s']:.2f} s")
    print(
        f"Typing latency per key (key event + repaint): median {figures['median_ms']:.1f} ms, "
        f"p95 {figures['p95_ms']:.1f} ms, max {figures['max_ms']:.1f} ms "
        "(one frame at 60 Hz = 16.7 ms)"
    )
    print(
        f"Saving it: {figures['save_ms']:.1f} ms on the GUI thread (autosave / Ctrl+S; the "
        f"write is done {figures['save_done_ms']:.0f} ms later off the GUI thread); a save "
        f"that waits (closing, export) {figures['save_wait_ms']:.1f} ms"
    )
    print(
        f"Off the keystroke path: word recount {figures['recount_ms']:.1f} ms (debounced "
        f"300 ms; a full regex count would take {figures['full_regex_count_ms']:.1f} ms), "
        f"journal hand-off to its thread {figures['journal_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
