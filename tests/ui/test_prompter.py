"""The real dialogs behind Prompter, answered by clicking their buttons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.library.recovery_journal import RecoveryEntry
from desktop.ui.prompter import Prompter


def click_when_shown(qtbot: Any, label: str, seen: list[str]) -> None:
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        button = next(b for b in box.buttons() if b.text() == label)
        button.click()

    QTimer.singleShot(0, click)


def test_locked_library_dialog_offers_take_over_only_when_stale(qtbot: Any) -> None:
    prompter = Prompter()
    seen: list[str] = []
    click_when_shown(qtbot, "Open read-only", seen)
    assert prompter.ask_locked("Open elsewhere.", stale=False) == "read_only"
    click_when_shown(qtbot, "Take over", seen)
    assert prompter.ask_locked("Left locked.", stale=True) == "take_over"
    click_when_shown(qtbot, "Quit", seen)
    assert prompter.ask_locked("Open elsewhere.", stale=False) == "quit"
    assert seen == ["Open elsewhere.", "Left locked.", "Open elsewhere."]


def test_restore_dialog(qtbot: Any, tmp_path: Path) -> None:
    entry = RecoveryEntry(tmp_path / "Novel.md", "text", 0.0, True, "old")
    seen: list[str] = []
    click_when_shown(qtbot, "Restore", seen)
    assert Prompter().ask_restore(entry) is True
    click_when_shown(qtbot, "Discard", seen)
    assert Prompter().ask_restore(entry) is False
    assert "“Novel.md” is newer than the saved file" in seen[0]


def test_error_details_can_be_copied(qtbot: Any) -> None:
    seen: list[str] = []
    click_when_shown(qtbot, "Copy details and close", seen)
    Prompter().error("Oops", "Something went wrong.", "Traceback: details")
    assert QApplication.clipboard().text() == "Traceback: details"


def test_first_run_library_offer_keeps_the_default(qtbot: Any, tmp_path: Path) -> None:
    seen: list[str] = []
    click_when_shown(qtbot, "Use this folder", seen)
    assert Prompter().offer_library(tmp_path / "Draftsmith") == tmp_path / "Draftsmith"
    assert str(tmp_path / "Draftsmith") in seen[0]
