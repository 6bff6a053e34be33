"""Crash recovery, external changes, snapshots, disk full / read-only, second instance,
the crash handler."""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import atomic_write as atomic_write_module
from desktop import paths
from desktop.library import Library, RecoveryJournal
from desktop.library.library_lock import LibraryLock
from desktop.ui.crash_handler import install_excepthook
from desktop.ui.library_claim import claim_library
from tests.ui.conftest import ScriptedPrompter, type_into


def test_crash_loses_at_most_the_journal_interval(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Any, prompter: ScriptedPrompter
) -> None:
    doc = library.create_document(title="Novel", text="Saved part.")
    fast_settings.set("autosave_seconds", 600)  # autosave never runs: only the journal does
    window = make_window()
    document = window.open_document(doc)
    document.editor.moveCursor(document.editor.textCursor().MoveOperation.End)
    type_into(qtbot, document.editor, " Typed after the last save.")
    journal = RecoveryJournal(paths.journal_dir())
    qtbot.waitUntil(lambda: journal.has_entry(doc), timeout=10000)
    assert doc.read_text(encoding="utf-8") == "Saved part."
    # "kill -9": the window is never closed; its timers are stopped so nothing more is written.
    for timer in (document.autosave_timer, document.journal_timer):
        timer.stop()
    document.editor.document().setModified(False)

    prompter.restores.append(True)
    fast_settings.set("autosave_seconds", 0.2)
    after_restart = make_window()
    assert after_restart.recover_from_journal() == 1
    restored = after_restart.current_document()
    assert restored.editor.text() == "Saved part. Typed after the last save."
    assert doc.read_text(encoding="utf-8") == "Saved part. Typed after the last save."
    assert not journal.has_entry(doc)
    assert "Saved part." in [s.read() for s in library.snapshots.list(doc)], "old text kept"


def test_declined_recovery_is_discarded(
    make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    doc = library.create_document(title="Draft", text="disk")
    journal = RecoveryJournal(paths.journal_dir())
    journal.record(doc, "journal text")
    prompter.restores.append(False)
    window = make_window()
    assert window.recover_from_journal() == 0
    assert journal.pending() == []
    assert doc.read_text(encoding="utf-8") == "disk"


def test_external_change_without_local_edits_reloads(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    doc = library.create_document(title="Shared", text="old text")
    window = make_window()
    document = window.open_document(doc)
    doc.write_text("new text from the sync tool", encoding="utf-8")
    qtbot.waitUntil(lambda: document.editor.text() == "new text from the sync tool", timeout=10000)
    assert not document.is_dirty()


def test_external_change_with_local_edits_keeps_both(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Any, prompter: ScriptedPrompter
) -> None:
    fast_settings.set("autosave_seconds", 600)
    doc = library.create_document(title="Shared", text="base")
    window = make_window()
    document = window.open_document(doc)
    document.editor.moveCursor(document.editor.textCursor().MoveOperation.End)
    type_into(qtbot, document.editor, " plus my edit")
    doc.write_text("their version", encoding="utf-8")
    document.check_disk()  # what the file watcher / app focus triggers
    assert doc.read_text(encoding="utf-8") == "their version", "never overwritten"
    copies = [p for p in library.documents() if "my version" in p.name]
    assert len(copies) == 1
    assert copies[0].read_text(encoding="utf-8") == "base plus my edit"
    assert document.path == copies[0], "the writer keeps typing in their own version"
    message = prompter.messages("info")[0]
    assert "Nothing was overwritten" in message and copies[0].name in message


def test_save_refuses_to_clobber_and_keeps_both(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Any
) -> None:
    fast_settings.set("autosave_seconds", 600)
    doc = library.create_document(title="Race", text="v1")
    window = make_window()
    document = window.open_document(doc)
    document.watcher.blockSignals(True)  # the change lands between two watcher events
    type_into(qtbot, document.editor, "mine ")
    doc.write_text("theirs", encoding="utf-8")
    assert document.save()
    assert doc.read_text(encoding="utf-8") == "theirs"
    assert document.path.read_text(encoding="utf-8") == "mine v1"


def _struck_and_plain(view: Any) -> tuple[str, str]:
    """The history view's text split into struck-through (removed) and the rest."""
    struck, plain = [], []
    block = view.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            target = struck if fragment.charFormat().fontStrikeOut() else plain
            target.append(fragment.text())
            iterator += 1
        block = block.next()
    return "".join(struck).strip(), " ".join("".join(plain).split())


def test_snapshot_restore_is_undoable_and_snapshotted(
    qtbot: Any, make_window: Any, library: Library
) -> None:
    from desktop.ui.snapshot_dialog import SnapshotDialog

    doc = library.create_document(title="Story", text="First draft.")
    window = make_window()
    document = window.open_document(doc)  # snapshot "opened"
    document.editor.replace_all_text_as_one_undo_step("Second draft, much better.")
    document.save()
    snapshots = library.snapshots.list(doc)
    dialog = SnapshotDialog(snapshots, document.editor.text(), window)
    qtbot.addWidget(dialog)
    # A readable inline word diff, not a unified diff: struck-through old words, new words.
    struck, plain = _struck_and_plain(dialog.diff)
    assert struck == "Firstdraft." and plain == "Second draft, much better."
    assert "@@" not in dialog.diff_text() and "---" not in dialog.diff_text()
    assert dialog.list.item(0).text() == "just now — when opened"
    assert "4 words added, 2 removed" in dialog.summary.text()
    assert dialog.restore_button.isEnabled()
    same = SnapshotDialog(snapshots, "First draft.", window)
    qtbot.addWidget(same)
    assert "same as the current text" in same.diff_text()
    assert not same.restore_button.isEnabled()  # restoring it would change nothing
    window.restore_snapshot(document, snapshots[0].read())
    assert document.editor.text() == "First draft."
    assert doc.read_text(encoding="utf-8") == "First draft."
    assert library.snapshots.list(doc)[0].read() == "Second draft, much better."
    document.editor.undo()
    assert document.editor.text() == "Second draft, much better."


def test_a_version_is_named_the_same_in_the_list_and_above_its_changes(
    qtbot: Any, make_window: Any, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each name was worked out when shown: the list said "17 minutes ago" and the same
    version's heading, chosen a few seconds later, "18 minutes ago"."""
    import itertools

    from desktop.ui import snapshot_dialog
    from desktop.ui.snapshot_dialog import SnapshotDialog

    minutes = itertools.count(17)  # the clock moves on between the list and the heading
    monkeypatch.setattr(snapshot_dialog, "time_in_words", lambda _at: f"{next(minutes)} min ago")
    doc = library.create_document(title="Story", text="First draft.")
    window = make_window()
    document = window.open_document(doc)
    document.editor.replace_all_text_as_one_undo_step("Second draft.")
    document.save()
    dialog = SnapshotDialog(library.snapshots.list(doc), document.editor.text(), window)
    qtbot.addWidget(dialog)
    listed = dialog.list.item(0).text()
    assert listed.startswith("17 min ago")
    assert dialog.summary.text().startswith(f"<b>{listed}</b>")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "disk is full"),
        (errno.EROFS, "read-only"),
        (errno.EACCES, "isn't allowed to write"),
    ],
)
def test_disk_full_read_only_permission_denied(
    qtbot: Any,
    make_window: Any,
    library: Library,
    prompter: ScriptedPrompter,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    words: str,
) -> None:
    doc = library.create_document(title="Chapter", text="")
    window = make_window()
    document = window.open_document(doc)
    real_mkstemp = atomic_write_module.tempfile.mkstemp
    broken = {"on": True}

    def failing_mkstemp(*args: Any, **kwargs: Any) -> Any:
        if broken["on"] and kwargs.get("dir") == doc.parent:
            raise OSError(code, "simulated")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(atomic_write_module.tempfile, "mkstemp", failing_mkstemp)
    type_into(qtbot, document.editor, "Precious words")
    qtbot.waitUntil(lambda: bool(prompter.messages("error")), timeout=10000)
    assert words in prompter.messages("error")[0]
    assert "text is safe in the editor" in prompter.messages("error")[0]
    assert document.editor.text() == "Precious words" and document.is_dirty()
    assert RecoveryJournal(paths.journal_dir()).pending()[0].text == "Precious words"
    assert window.writing_status.save_state.text() == "Not saved"
    broken["on"] = False
    assert document.save(), "saving works again once the disk is fixed"
    assert doc.read_text(encoding="utf-8") == "Precious words"
    assert RecoveryJournal(paths.journal_dir()).pending() == []


def test_disk_full_is_retried_automatically(
    qtbot: Any,
    make_window: Any,
    library: Library,
    prompter: ScriptedPrompter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import desktop.ui.open_document as open_document_module

    monkeypatch.setattr(open_document_module, "RETRY_SECONDS", 0.2)
    doc = library.create_document(title="Chapter", text="")
    window = make_window()
    document = window.open_document(doc)
    real_mkstemp = atomic_write_module.tempfile.mkstemp
    failures = {"left": 1}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures["left"] and kwargs.get("dir") == doc.parent:
            failures["left"] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(atomic_write_module.tempfile, "mkstemp", flaky)
    type_into(qtbot, document.editor, "words")
    qtbot.waitUntil(lambda: doc.read_text(encoding="utf-8") == "words", timeout=10000)
    assert len(prompter.messages("error")) == 1


def test_second_instance_opens_read_only(
    qtbot: Any, make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    doc = library.create_document(title="Mine", text="text")
    first_claim = claim_library(library, prompter)
    assert first_claim is not None and first_claim[1] is False
    prompter.lock_answers.append("read_only")
    second_claim = claim_library(library, prompter)
    assert second_claim is not None
    lock, read_only = second_claim
    assert read_only
    message, stale = prompter.lock_messages[0]
    assert "open in another Draftsmith window" in message and not stale
    second = make_window(lock=lock, read_only=True)
    document = second.open_document(doc)
    assert document.editor.isReadOnly()
    assert second.windowTitle().endswith("(read-only)")
    second.registry.refresh_enabled()
    assert not second.registry.action("file.new").isEnabled()
    assert not second.registry.action("file.save").isEnabled()
    second.close()
    assert first_claim[0].path.exists(), "the read-only window leaves the owner's lock alone"
    prompter.lock_answers.append("quit")
    assert claim_library(library, prompter) is None
    first_claim[0].release()


def test_stale_lock_can_be_taken_over(library: Library, prompter: ScriptedPrompter) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock_path = library.root / ".draftsmith" / "library.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path.write_text(
        json.dumps(
            {
                "host": socket.gethostname(),
                "user": "another-account",  # this user's own crashed lock is taken silently
                "pid": int(child.stdout),
                "time": time.time(),
                "token": "crashed",
            }
        )
    )
    prompter.lock_answers.append("take_over")
    claim = claim_library(library, prompter)
    assert claim is not None and claim[1] is False
    assert prompter.lock_messages[0][1] is True, "offered as stale"
    assert json.loads(lock_path.read_text())["token"] == claim[0].token


def test_lock_taken_over_elsewhere_makes_window_read_only(
    make_window: Any, library: Library, prompter: ScriptedPrompter
) -> None:
    lock = LibraryLock(library.root)
    lock.acquire()
    window = make_window(lock=lock)
    LibraryLock(library.root).take_over()
    window._heartbeat()
    assert window.read_only
    assert "now read-only" in prompter.messages("info")[0]


def test_excepthook_saves_everything_and_shows_details(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Any, prompter: ScriptedPrompter
) -> None:
    fast_settings.set("autosave_seconds", 600)
    doc = library.create_document(title="Unsaved", text="")
    window = make_window()
    document = window.open_document(doc)
    type_into(qtbot, document.editor, "not yet saved")
    previous = sys.excepthook
    try:
        hook = install_excepthook(window.emergency_save, prompter.error)
        try:
            raise RuntimeError("boom in a slot")
        except RuntimeError as exc:
            hook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = previous
    assert doc.read_text(encoding="utf-8") == "not yet saved"
    error = prompter.messages("error")[0]
    assert "Your documents were saved" in error
    assert "RuntimeError: boom in a slot" in error and "Traceback" in error


def test_excepthook_when_saving_fails_points_to_the_journal(prompter: ScriptedPrompter) -> None:
    def broken_save() -> None:
        raise OSError(errno.ENOSPC, "full")

    previous = sys.excepthook
    try:
        hook = install_excepthook(broken_save, prompter.error)
        hook(ValueError, ValueError("x"), None)
    finally:
        sys.excepthook = previous
    assert "recovery journal" in prompter.messages("error")[0]


def test_journal_records_text_unwritable_library(tmp_path: Path) -> None:
    journal = RecoveryJournal(tmp_path / "journal")
    journal.record(tmp_path / "nowhere" / "a.md", "still safe")
    assert journal.pending()[0].text == "still safe"


def test_restore_after_a_crash_puts_the_cursor_back(
    qtbot: Any, make_window: Any, library: Library, fast_settings: Any, prompter: ScriptedPrompter
) -> None:
    doc = library.create_document(title="Novel", text="First line.\n\nSecond paragraph.")
    fast_settings.set("autosave_seconds", 600)
    window = make_window()
    document = window.open_document(doc)
    document.editor.set_cursor_position(len("First line."))
    type_into(qtbot, document.editor, " More words here")
    position = document.editor.cursor_position()
    journal = RecoveryJournal(paths.journal_dir())
    qtbot.waitUntil(lambda: journal.has_entry(doc), timeout=10000)
    for timer in (document.autosave_timer, document.journal_timer):
        timer.stop()  # "kill -9"
    document.editor.document().setModified(False)

    prompter.restores.append(True)
    after_restart = make_window()
    assert after_restart.recover_from_journal() == 1
    restored = after_restart.current_document().editor
    assert restored.text() == "First line. More words here\n\nSecond paragraph."
    assert restored.cursor_position() == position == len("First line. More words here")


def test_a_dead_draftsmith_of_mine_leaves_no_lock_question(
    qtbot: Any, tmp_path: Path, isolated_user_dirs: dict[str, Path]
) -> None:
    """kill -9 leaves the lock file behind: the next start takes it over without asking."""
    import getpass

    from desktop.ui.app import build_window

    library = Library(tmp_path / "Library")
    library.ensure_exists(welcome=False)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock = LibraryLock(library.root)
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    lock.path.write_text(
        json.dumps(
            {
                "host": socket.gethostname(),
                "user": getpass.getuser(),
                "pid": int(dead.stdout),
                "time": time.time(),
                "token": "crashed",
            }
        )
    )
    prompter = ScriptedPrompter()
    window = build_window(library.root, prompter=prompter)
    qtbot.addWidget(window)
    assert window is not None and not window.read_only
    assert prompter.lock_messages == [], "no 'Library in use' question"
    assert window.lock is not None and window.lock.refresh()
    window.close()
