"""A real ``kill -9`` while the writer types without pausing: the journal holds everything but
the last ~2 s, and the file on disk is never corrupt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from desktop.library import RecoveryJournal

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys, time
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from desktop.ui.app import build_window
window = build_window(Path(sys.argv[1]))
editor = window.current_editor()
count = 0
def type_word():
    global count
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor.insertPlainText(f" w{count}")
    print(f"TYPED {count} {time.monotonic()}", flush=True)
    count += 1
timer = QTimer()
timer.timeout.connect(type_word)
timer.start(40)  # a fast typist who never pauses
app.exec()
"""


def test_kill_minus_nine_loses_at_most_two_seconds(tmp_path: Path) -> None:
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / "child" / name.lower())
    env["QT_QPA_PLATFORM"] = "offscreen"
    library = tmp_path / "Library"
    library.mkdir()
    doc = library / "Draft.md"
    doc.write_text("Start.", encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(library)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    typed: list[tuple[int, float]] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("TYPED"):
                _, number, stamp = line.split()
                typed.append((int(number), float(stamp)))
                if typed[-1][1] - typed[0][1] > 4.0:
                    break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    killed_at = typed[-1][1]
    # The journal runs 1.5 s after the first unjournaled keystroke; 0.5 s of slack for a
    # loaded CI machine. Words typed before this moment must survive the kill.
    safe = max(n for n, stamp in typed if stamp <= killed_at - 2.0)

    state = tmp_path / "child" / "xdg_state_home"
    journal_dir = next(state.rglob("journal"))
    (entry,) = RecoveryJournal(journal_dir).pending()
    assert entry.document == doc.resolve()
    assert f" w{safe} " in entry.text + " ", "at most the last ~2 s of typing are lost"
    assert entry.text.startswith("Start. w0 w1")
    on_disk = doc.read_text(encoding="utf-8")  # valid UTF-8: never half-written
    assert entry.text.startswith(on_disk)
