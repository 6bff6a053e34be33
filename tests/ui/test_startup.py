"""The ``draftsmith`` command: headless message, first run, start-up without Qt plugin errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from desktop import paths
from desktop.settings import Settings
from tests.ui.conftest import ScriptedPrompter

REPO = Path(__file__).resolve().parents[2]


def test_without_a_display_it_explains_how_to_run(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "desktop"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "QT_QPA_PLATFORM=offscreen draftsmith" in result.stderr
    assert "xvfb-run" in result.stderr
    assert "qt.qpa.plugin" not in result.stderr


def test_first_run_creates_library_and_opens_welcome(
    qtbot: Any, isolated_user_dirs: dict[str, Path]
) -> None:
    from desktop.ui.app import build_window

    prompter = ScriptedPrompter()
    window = build_window(prompter=prompter)
    qtbot.addWidget(window)
    library = isolated_user_dirs["documents"] / "Draftsmith"
    assert window.library.root == library.resolve()
    assert [d.path.name for d in window.documents] == ["Welcome.md"]
    assert Settings().get_bool("first_run_done")
    assert (library / ".draftsmith" / "library.lock").exists()
    window.close()
    assert not (library / ".draftsmith" / "library.lock").exists(), "lock released on quit"
    (library / "Welcome.md").unlink()
    again = build_window(prompter=prompter)
    qtbot.addWidget(again)
    assert not (library / "Welcome.md").exists(), "the welcome document comes only once"
    assert [d.path.name for d in again.documents] == ["Untitled.md"], "something to type in"
    again.close()


def test_unwritable_library_location_is_a_plain_error(qtbot: Any, tmp_path: Path) -> None:
    from desktop.ui.app import build_window

    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    prompter = ScriptedPrompter()
    assert build_window(blocker / "Library", prompter=prompter) is None
    assert "couldn't create its library folder" in prompter.messages("error")[0]


def test_debug_flag_writes_a_log_file(tmp_path: Path) -> None:
    code = (
        "import logging, sys; from desktop.cli import setup_logging; setup_logging(True); "
        "logging.getLogger('x').debug('hello log')"
    )
    subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=dict(os.environ), check=True, timeout=60
    )
    assert "hello log" in (paths.log_dir() / paths.LOG_FILE).read_text(encoding="utf-8")


def test_first_run_offers_the_library_folder(
    qtbot: Any, tmp_path: Path, isolated_user_dirs: dict[str, Path]
) -> None:
    from desktop.ui.app import build_window

    prompter = ScriptedPrompter()
    prompter.library_choices.append(tmp_path / "My Writing")
    window = build_window(prompter=prompter)
    qtbot.addWidget(window)
    assert prompter.shown[0][0] == "offer_library"
    assert str(isolated_user_dirs["documents"] / "Draftsmith") in prompter.shown[0][2]
    assert window.library.root == (tmp_path / "My Writing").resolve()
    assert (tmp_path / "My Writing" / "Welcome.md").exists()
    assert Settings().library_path() == tmp_path / "My Writing"
    window.close()
    again = build_window(prompter=prompter)
    qtbot.addWidget(again)
    assert [k for k, _t, _m in prompter.shown].count("offer_library") == 1, "asked once"
    again.close()


def test_sync_menu_is_installed_after_start_up(qtbot: Any, make_window: Any) -> None:
    from desktop.ui.app import load_optional_features

    window = make_window()
    assert window.registry.get("sync.setup") is None, "not on the start-up path"
    load_optional_features(window)
    qtbot.waitUntil(lambda: window.registry.get("sync.setup") is not None, timeout=20000)
    assert window.registry.action("sync.setup") in window.menu("Settings › Sync").actions()


SYNC_MENU_ALONE = r"""
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from desktop.library import Library
from desktop.settings import Settings
from desktop.ui.main_window import MainWindow
from desktop.ui.sync_menu import install_sync
app = QApplication(sys.argv[:1])
library = Library(Path(sys.argv[1]))
library.ensure_exists(welcome=False)
window = MainWindow(library, Settings(), load_spelling=False)
install_sync(window)
assert window.registry.get("sync.setup") is not None
heavy = ("requests", "desktop.sync.engine", "desktop.sync.webdav", "desktop.ui.sync_setup_wizard")
print("loaded:", *(name for name in heavy if name in sys.modules))
"""


def test_the_sync_menu_of_a_library_without_sync_loads_no_engine(tmp_path: Path) -> None:
    """Sync's engine, WebDAV client and dialogs take ~0.3 s of interpreter-lock time to
    import, felt by the editor as it starts: they load when sync is set up or asked for."""
    run = subprocess.run(
        [sys.executable, "-c", SYNC_MENU_ALONE, str(tmp_path / "Library")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["loaded:"]


SECOND_LAUNCH = r"""
import sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication
app = QCoreApplication(sys.argv[:1])
from desktop.ui.single_instance import ask_running_instance_to_activate
print("HANDED_OVER" if ask_running_instance_to_activate(Path(sys.argv[1]), 5000) else "ALONE")
"""


def test_second_launch_brings_the_running_window_forward(qtbot: Any, tmp_path: Path) -> None:
    from desktop.ui.app import build_window

    prompter = ScriptedPrompter()
    library = tmp_path / "Library"
    window = build_window(library, prompter=prompter)
    qtbot.addWidget(window)
    assert window.instance_server is not None and window.instance_server.is_listening()
    with qtbot.waitSignal(window.instance_server.activate_requested, timeout=20000):
        second = subprocess.Popen(
            [sys.executable, "-c", SECOND_LAUNCH, str(library)],
            cwd=REPO,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            text=True,
        )
    qtbot.waitUntil(lambda: second.poll() is not None, timeout=20000)
    assert second.stdout is not None and second.stdout.read().strip() == "HANDED_OVER"
    assert prompter.lock_messages == [], "no 'library in use' question"
    window.close()


def test_launch_without_a_running_instance_is_alone(qtbot: Any, tmp_path: Path) -> None:
    from desktop.ui.single_instance import ask_running_instance_to_activate

    assert ask_running_instance_to_activate(tmp_path / "Nobody", 200) is False


ACTIVE_AFTER_START = r"""
import sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from desktop.ui import app as ui_app
application = QApplication(sys.argv[:1])

def active() -> str:
    window = application.activeWindow()
    return type(window).__name__ if window is not None else "nothing"

def at_start() -> None:
    print("AT START:", active(), flush=True)
    window = application.activeWindow() or application.topLevelWidgets()[0]
    window.show_settings()
    QTimer.singleShot(500, close_settings)

def close_settings() -> None:
    print("SETTINGS:", active(), flush=True)
    application.activeWindow().close()
    QTimer.singleShot(500, after_settings)

def after_settings() -> None:
    print("AFTER SETTINGS:", active(), flush=True)
    application.activeWindow().show_shortcuts()  # a dialog that is shown, not run modally
    QTimer.singleShot(500, close_shortcuts)

def close_shortcuts() -> None:
    print("SHORTCUTS:", active(), flush=True)
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    QTest.keyClick(application.activeWindow(), Qt.Key.Key_Escape)  # as the writer would
    QTimer.singleShot(500, after_shortcuts)

def after_shortcuts() -> None:
    print("AFTER SHORTCUTS:", active(), flush=True)
    application.closeAllWindows()

QTimer.singleShot(1000, at_start)
sys.exit(ui_app.run(sys.argv[:1], library_path=Path(sys.argv[1])))
"""


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (Debian's xvfb)")
def test_the_window_is_active_without_a_window_manager(
    tmp_path: Path, isolated_user_dirs: dict[str, Path]
) -> None:
    """On a bare X server nothing activates a window but the app itself; an inactive window
    takes typed letters (they go to the window under the pointer) but no shortcut at all.
    So the main window is activated at start, a dialog the writer opens takes the keys (Escape
    closes it), and the main window is active again when the dialog closes."""
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    run = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-c", ACTIVE_AFTER_START, str(tmp_path / "Library")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    lines = [line for line in run.stdout.splitlines() if ":" in line]
    assert lines == [
        "AT START: MainWindow",
        "SETTINGS: SettingsDialog",
        "AFTER SETTINGS: MainWindow",
        "SHORTCUTS: ShortcutsDialog",
        "AFTER SHORTCUTS: MainWindow",
    ], run.stdout + run.stderr
