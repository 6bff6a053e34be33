"""UI fixtures: a real MainWindow on a real library folder; dialogs answered by a scripted
Prompter (the only thing we fake is the user's clicks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop import paths
from desktop.library import Library, RecoveryJournal
from desktop.library.recovery_journal import RecoveryEntry
from desktop.settings import Settings
from desktop.ui.prompter import Prompter


class ScriptedPrompter(Prompter):
    """Answers questions from queues; records everything shown to the user."""

    def __init__(self) -> None:
        super().__init__(None)
        self.shown: list[tuple[str, str, str]] = []
        self.texts: list[str | None] = []
        self.text_questions: list[tuple[str, str]] = []  # (title, the answer filled in)
        self.choices: list[int | None] = []
        self.confirms: list[bool] = []
        self.restores: list[bool] = []
        self.lock_answers: list[str] = []
        self.lock_messages: list[tuple[str, bool]] = []
        self.save_paths: list[Path | None] = []
        self.save_starts: list[Path] = []  # where each save dialog opened, with its name
        self.folders: list[Path | None] = []
        self.open_paths: list[Path | None] = []
        self.library_choices: list[Path] = []

    def info(self, title: str, message: str) -> None:
        self.shown.append(("info", title, message))

    def error(self, title: str, message: str, details: str = "") -> None:
        self.shown.append(("error", title, message + ("\n" + details if details else "")))

    def confirm(self, title: str, message: str) -> bool:
        self.shown.append(("confirm", title, message))
        return self.confirms.pop(0) if self.confirms else True

    def ask_text(self, title: str, label: str, default: str = "") -> str | None:
        self.text_questions.append((title, default))
        return self.texts.pop(0)

    def choose(self, title: str, label: str, options: list[str]) -> int | None:
        self.shown.append(("choose", title, "\n".join(options)))
        return self.choices.pop(0)

    def ask_save_path(self, title: str, start: Path, filter_text: str) -> Path | None:
        self.save_starts.append(start)
        return self.save_paths.pop(0)

    def ask_folder(self, title: str, start: Path) -> Path | None:
        return self.folders.pop(0)

    def ask_open_path(self, title: str, start: Path, filter_text: str) -> Path | None:
        return self.open_paths.pop(0)

    def offer_library(self, default: Path) -> Path:
        self.shown.append(("offer_library", "", str(default)))
        return self.library_choices.pop(0) if self.library_choices else default

    def ask_restore(self, entry: RecoveryEntry) -> bool:
        self.shown.append(("restore", entry.document.name, entry.text))
        return self.restores.pop(0)

    def ask_locked(self, message: str, stale: bool) -> str:
        self.lock_messages.append((message, stale))
        return self.lock_answers.pop(0)

    def messages(self, kind: str) -> list[str]:
        return [m for k, _t, m in self.shown if k == kind]


@pytest.fixture(autouse=True)
def no_work_left_for_the_next_test() -> Iterator[None]:
    """Wait for this test's Qt worker tasks (the License dialog's status check) and close
    backups before its user folders are switched: one still running would write into the
    next test's folders."""
    yield
    from PySide6.QtCore import QThreadPool

    from desktop.ui.backup_schedule import wait_for_close_backups

    assert QThreadPool.globalInstance().waitForDone(30_000), "a worker task is still running"
    assert wait_for_close_backups(30), "a close backup is still being written"


@pytest.fixture
def prompter() -> ScriptedPrompter:
    return ScriptedPrompter()


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "Library")
    lib.ensure_exists(welcome=False)
    return lib


@pytest.fixture
def fast_settings() -> Settings:
    settings = Settings()
    settings.set("autosave_seconds", 0.2)
    settings.set("journal_seconds", 0.1)
    settings.set("spell_check", False)
    return settings


@pytest.fixture
def make_window(
    qtbot: Any, library: Library, fast_settings: Settings, prompter: ScriptedPrompter
) -> Iterator[Callable[..., Any]]:
    from desktop.ui.main_window import MainWindow

    windows: list[MainWindow] = []

    def make(**kwargs: Any) -> MainWindow:
        kwargs.setdefault("prompter", prompter)
        kwargs.setdefault("load_spelling", False)
        kwargs.setdefault("journal", RecoveryJournal(paths.journal_dir()))
        window = MainWindow(
            kwargs.pop("library", library), kwargs.pop("settings", fast_settings), **kwargs
        )
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        for document in list(window.documents):
            document.close()


def type_into(qtbot: Any, editor: Any, text: str) -> None:
    editor.setFocus()
    qtbot.keyClicks(editor, text)


def library_of(root: Path, chapters: int) -> list[Path]:
    """``chapters`` chapters in each of two part folders (chapter n has n words)."""
    made = []
    for part in ("Part 1", "Part 2"):
        (root / part).mkdir()
        for number in range(1, chapters + 1):
            path = root / part / f"Chapter {number}.md"
            path.write_text(" ".join(["word"] * number), encoding="utf-8")
            made.append(path)
    return made


@pytest.fixture
def filled_in_slices(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A listing past 7 documents fills between events (as 10,000 do), with no counting pass;
    returns the sidebar module for further settings."""
    import desktop.ui.sidebar as sidebar_module
    from desktop.ui.library_word_counts import LibraryWordCounts

    monkeypatch.setattr(sidebar_module, "FILL_NOW_DOCUMENTS", 7)
    monkeypatch.setattr(LibraryWordCounts, "start", lambda self, documents, **_: 0)  # no counts
    return sidebar_module
