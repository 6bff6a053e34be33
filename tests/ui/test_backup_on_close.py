"""Closing the window backs up only what changed since the last full backup (taken in the
background during the session), so closing a big library does not zip all of it; the window
does not wait for that backup, the process does before it exits."""

from __future__ import annotations

import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

import desktop.library.backups as backups_module
from desktop import paths
from desktop.library import Library
from desktop.ui.backup_schedule import wait_for_close_backups
from tests.ui.conftest import type_into


@pytest.fixture
def zipped(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file name written into a backup zip (a spy: the real zip is written)."""
    names: list[str] = []
    real = zipfile.ZipFile.write

    def spy(self: zipfile.ZipFile, filename: Any, arcname: Any = None, *args: Any) -> None:
        names.append(str(arcname))
        real(self, filename, arcname, *args)

    monkeypatch.setattr(zipfile.ZipFile, "write", spy)
    return names


def _chapters(library: Library, count: int) -> list[Path]:
    return [
        library.create_document(title=f"Chapter {n}", text=f"Chapter {n} text. " * 50)
        for n in range(1, count + 1)
    ]


def test_closing_backs_up_only_the_session_changes(
    qtbot: Any, make_window: Any, library: Library, zipped: list[str]
) -> None:
    chapters = _chapters(library, 60)
    window = make_window()
    window.backups.back_up_in_background()  # what the session's timer does
    full = window.backups.wait()
    assert full is not None and len(zipped) == 60
    document = window.open_document(chapters[7])
    type_into(qtbot, document.editor, "New line. ")
    zipped.clear()
    window.close()
    assert wait_for_close_backups(30)
    assert zipped == ["Chapter 8.md"], "closing zipped only the changed chapter"
    (changes,) = paths.backups_dir().glob("Library-*-changes.zip")
    with zipfile.ZipFile(changes) as archive:
        assert archive.read("Chapter 8.md").decode().startswith("New line. Chapter 8")


def test_closing_a_big_library_never_backed_up_leaves_the_zip_to_a_background_process(
    qtbot: Any, make_window: Any, library: Library, zipped: list[str], monkeypatch: Any
) -> None:
    import desktop.ui.backup_schedule as schedule_module

    monkeypatch.setattr(schedule_module, "CLOSE_BYTES_LIMIT", 2000)  # "big"
    _chapters(library, 20)
    started: list[Any] = []
    real = backups_module.back_up_after_exit

    def track(root: Path, destination: Path) -> Any:
        started.append(real(root, destination))
        return started[-1]

    monkeypatch.setattr(schedule_module, "back_up_after_exit", track)
    window = make_window()
    window.close()
    assert wait_for_close_backups(30)
    assert zipped == [], "nothing was zipped while the window closed"
    assert len(started) == 1
    assert started[0].wait(60) == 0
    (full,) = paths.backups_dir().glob("Library-*.zip")
    with zipfile.ZipFile(full) as archive:
        assert len(archive.namelist()) == 20


def test_the_window_closes_without_waiting_for_its_backup_and_the_app_waits_before_exiting(
    qtbot: Any, make_window: Any, library: Library, monkeypatch: Any
) -> None:
    import desktop.ui.backup_schedule as schedule_module

    chapters = _chapters(library, 5)
    release = threading.Event()
    real = schedule_module.backup_changes

    def slow_backup(*args: Any, **kwargs: Any) -> Path | None:
        release.wait(10)  # a big library: looking at every file takes a while
        return real(*args, **kwargs)

    monkeypatch.setattr(schedule_module, "backup_changes", slow_backup)
    window = make_window()
    document = window.open_document(chapters[2])
    type_into(qtbot, document.editor, "New line. ")
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 5, "the window waited for its backup"
    assert not wait_for_close_backups(0.05), "the backup is still being written"
    release.set()
    assert wait_for_close_backups(30)  # what the app does before the process exits
    (changes,) = paths.backups_dir().glob("Library-*.zip")
    with zipfile.ZipFile(changes) as archive:
        assert archive.read("Chapter 3.md").decode().startswith("New line. Chapter 3")
