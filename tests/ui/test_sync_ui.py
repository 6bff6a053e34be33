"""The sync UI against a real WebDAV server: set-up wizard, background rounds, status, log,
conflict notice and history."""

# The WebDAV fixtures come from tests/sync/dav_fixtures.py; test arguments reuse their names.
# ruff: noqa: F811

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard

from desktop.ui.sync_controller import SyncController
from desktop.ui.sync_history_dialog import SyncHistoryDialog
from desktop.ui.sync_setup_wizard import SyncSetupWizard
from desktop.ui.sync_status import ConflictNotice, SyncStatusButton, describe
from tests.sync.dav_fixtures import fleet_factory, wsgidav_server  # noqa: F401 - fixtures
from tests.sync.dav_harness import (
    PASSPHRASE,
    PASSWORD,
    TEST_KDF,
    USER,
    DavServer,
    Fleet,
)


@pytest.fixture
def controllers():
    made: list[SyncController] = []
    yield made
    for controller in made:
        controller.shutdown()


def _controller(controllers, engine, confirm=lambda paths: True) -> SyncController:
    controller = SyncController(engine, confirm, interval_ms=3_600_000)
    controllers.append(controller)
    return controller


def _fill_server(wizard: SyncSetupWizard, url: str, create: bool) -> None:
    page = wizard.server
    page.url.setText(url)
    page.user.setText(USER)
    page.password.setText(PASSWORD)
    page.device_name.setText("Laptop" if create else "Desk")
    (page.create_new if create else page.join_existing).setChecked(True)


def test_wizard_creates_then_joins(qtbot, wsgidav_server: DavServer, tmp_path: Path) -> None:
    first = SyncSetupWizard(tmp_path / "a" / "sync.sqlite", tmp_path / "lib-a", kdf=TEST_KDF)
    (tmp_path / "lib-a").mkdir()
    first.show()
    _fill_server(first, wsgidav_server.url, create=True)
    first.next()  # the server page checks the server first, then moves on by itself
    qtbot.waitUntil(lambda: first.currentPage() is first.keys, timeout=20_000)
    first.keys.passphrase.setText(PASSPHRASE)
    first.keys.repeat.setText(PASSPHRASE + "typo")
    assert not first.keys.isComplete()  # the two entries differ
    first.keys.repeat.setText(PASSPHRASE)
    assert first.button(QWizard.WizardButton.NextButton).isVisible()
    first.button(QWizard.WizardButton.NextButton).click()
    # Set-up runs off the GUI thread; the wizard stays responsive and moves on by itself.
    assert first.busy and not first.button(QWizard.WizardButton.NextButton).isEnabled()
    qtbot.waitUntil(lambda: first.currentPage() is first.recovery, timeout=20_000)
    key = first.recovery.key.text()
    assert len(key.replace("-", "")) == 32
    assert not first.recovery.isComplete()  # must confirm the key was saved
    saved = tmp_path / "recovery.txt"
    first.recovery.save_to_file(str(saved))
    assert key in saved.read_text()
    first.recovery.saved.setChecked(True)
    assert first.recovery.isComplete()
    assert first.engine is not None
    with qtbot.waitSignal(first.accepted):  # Finish; the wizard deletes itself on close
        first.button(QWizard.WizardButton.FinishButton).click()
    first.engine.close()

    (tmp_path / "lib-b").mkdir()
    second = SyncSetupWizard(tmp_path / "b" / "sync.sqlite", tmp_path / "lib-b", kdf=TEST_KDF)
    second.show()
    _fill_server(second, wsgidav_server.url, create=False)
    second.next()
    qtbot.waitUntil(lambda: second.currentPage() is second.keys, timeout=20_000)
    second.keys.passphrase.setText("not the passphrase")
    second.next()
    qtbot.waitUntil(lambda: "does not open" in second.keys.error.text(), timeout=20_000)
    assert second.currentPage() is second.keys and second.engine is None
    assert not (tmp_path / "b" / "sync.sqlite").exists()
    second.keys.passphrase.setText(PASSPHRASE)
    finish = second.button(QWizard.WizardButton.FinishButton)
    assert finish.isVisible()  # joining shows no recovery key
    with qtbot.waitSignal(second.accepted):
        finish.click()
    assert second.engine is not None and second.recovery_key == ""
    second.engine.close()


def test_background_rounds_report_changes_and_conflicts(
    qtbot, wsgidav_server: DavServer, fleet_factory, controllers
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a, b = fleet.add("Laptop"), fleet.add("Desk")
    ca, cb = _controller(controllers, a.engine), _controller(controllers, b.engine)
    button = SyncStatusButton(cb)
    qtbot.addWidget(button)

    a.write("story.md", "base\n")
    with qtbot.waitSignal(ca.finished, timeout=20_000) as done:
        ca.sync_now()
    assert done.args[0].ok
    with qtbot.waitSignal(cb.files_changed, timeout=20_000) as changed:
        cb.sync_now()
    assert changed.args[0] == ["story.md"]
    qtbot.waitUntil(lambda: button.text().startswith("Synced"), timeout=5_000)

    a.write("story.md", "laptop text\n")
    b.write("story.md", "desk text\n")
    with qtbot.waitSignal(ca.finished, timeout=20_000):
        ca.sync_now()
    with qtbot.waitSignal(cb.conflicts_found, timeout=20_000) as conflicts:
        cb.sync_now()
    copy = conflicts.args[0][0]
    assert "conflict from Laptop" in copy
    notice = ConflictNotice(conflicts.args[0])
    qtbot.addWidget(notice)
    with qtbot.waitSignal(notice.open_requested) as opened:
        notice._open_current()
    assert opened.args == [copy]

    log = button.show_log()
    qtbot.addWidget(log)
    assert f"Conflict copy: {copy}" in log.text.toPlainText()
    assert "desk text" not in log.text.toPlainText()  # the log never shows what was written


def test_requests_during_a_round_fold_into_one_more(
    qtbot, wsgidav_server: DavServer, fleet_factory, controllers
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("Laptop")
    ca = _controller(controllers, a.engine)
    rounds = []
    ca.finished.connect(rounds.append)
    ca.sync_now()
    ca.sync_now()
    ca.sync_now()
    qtbot.waitUntil(lambda: len(rounds) == 2 and not ca.running, timeout=20_000)
    assert len(ca.history) == 2


def test_mass_delete_question_is_asked_on_the_gui_thread(
    qtbot, wsgidav_server: DavServer, fleet_factory, controllers
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("Laptop", confirm_deletes=lambda paths: True)
    b = fleet.add("Desk")
    for i in range(12):
        a.write(f"c{i}.md", f"{i}\n")
    fleet.sync_all()
    for i in range(11):
        (a.library / f"c{i}.md").unlink()
    a.sync()
    asked = []

    def confirm(paths: list[str]) -> bool:
        asked.append((threading.current_thread() is threading.main_thread(), len(paths)))
        return False

    cb = _controller(controllers, b.engine, confirm)
    with qtbot.waitSignal(cb.finished, timeout=20_000) as done:
        cb.sync_now()
    assert asked == [(True, 11)]
    assert len(done.args[0].kept) == 11
    assert any(line.startswith("Kept (you chose to keep)") for line in describe(done.args[0]))


def test_history_dialog_restores_an_older_version(
    qtbot, wsgidav_server: DavServer, fleet_factory, controllers
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("Laptop")
    for text in ("first draft\n", "second draft\n"):
        a.write("d.md", text)
        a.sync()
    ca = _controller(controllers, a.engine)
    dialog = SyncHistoryDialog(ca, "d.md")
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 2
    assert "current" in dialog.list.item(0).text()
    dialog.list.setCurrentRow(0)
    assert not dialog.restore_button.isEnabled()  # the current version needs no restore
    dialog.list.setCurrentRow(1)
    assert dialog.restore_button.isEnabled()
    with qtbot.waitSignal(dialog.restored) as restored:
        dialog.restore_selected()
    assert restored.args == ["d.md"]
    assert a.read("d.md") == "first draft\n"
    qtbot.waitUntil(lambda: not ca.running, timeout=20_000)


def test_history_restore_failure_is_explained(
    qtbot, wsgidav_server: DavServer, fleet_factory, controllers, monkeypatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("Laptop")
    for text in ("first draft\n", "second draft\n"):
        a.write("d.md", text)
        a.sync()
    for blob in (wsgidav_server.root / "blobs").iterdir():
        blob.unlink()  # the server lost the stored versions
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    ca = _controller(controllers, a.engine)
    dialog = SyncHistoryDialog(ca, "d.md")
    qtbot.addWidget(dialog)
    dialog.list.setCurrentRow(1)
    dialog.restore_selected()
    qtbot.waitUntil(lambda: bool(warnings), timeout=20_000)
    assert "missing from the server" in warnings[0]
    assert a.read("d.md") == "second draft\n"
    assert dialog.restore_button.isEnabled()  # the writer can try again


def test_no_round_runs_when_licensing_says_no(
    qtbot, wsgidav_server: DavServer, fleet_factory, controllers
) -> None:
    from desktop.sync.entitlement import SyncPermission

    fleet: Fleet = fleet_factory(wsgidav_server.url)
    a = fleet.add("Laptop")
    a.write("x.md", "x\n")
    ca = _controller(controllers, a.engine)
    button = SyncStatusButton(ca)
    qtbot.addWidget(button)
    ca.permission = lambda: SyncPermission(False, "Your 14-day trial has ended.")
    with qtbot.waitSignal(ca.blocked) as blocked:
        ca.sync_now()
    assert blocked.args == ["Your 14-day trial has ended."]
    assert not ca.running and button.text() == "Sync: off"
    assert not any((wsgidav_server.root / "blobs").iterdir())  # nothing was sent


# --- a set-up that can't get stuck (issue 12, finding 4) --------------------------------


def test_server_errors_show_on_the_server_page_before_anything_is_written(
    qtbot, wsgidav_server: DavServer, tmp_path: Path
) -> None:
    (tmp_path / "lib").mkdir()
    wizard = SyncSetupWizard(tmp_path / "s" / "sync.sqlite", tmp_path / "lib", kdf=TEST_KDF)
    qtbot.addWidget(wizard)
    wizard.show()
    assert wizard.server.device_name.text().strip()  # pre-filled with this computer's name
    _fill_server(wizard, "http://127.0.0.1:9/nothing-listens-here/", create=True)
    wizard.next()
    qtbot.waitUntil(lambda: "could not be reached" in wizard.server.error.text(), timeout=20_000)
    assert wizard.currentPage() is wizard.server

    _fill_server(wizard, wsgidav_server.url, create=True)
    wizard.server.password.setText("wrong")
    wizard.next()
    qtbot.waitUntil(lambda: "app password" in wizard.server.error.text(), timeout=20_000)
    assert wizard.currentPage() is wizard.server
    assert list(wsgidav_server.root.iterdir()) == []

    wizard.server.password.setText(PASSWORD)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.keys, timeout=20_000)
    assert wizard.server.error.text() == ""


def test_without_a_keyring_the_wizard_offers_the_secrets_file_and_finishes(
    qtbot, wsgidav_server: DavServer, tmp_path: Path
) -> None:
    import keyring
    from keyring.backends.fail import Keyring as NoKeyringBackend

    keyring.set_keyring(NoKeyringBackend())
    (tmp_path / "lib").mkdir()
    state = tmp_path / "s" / "sync.sqlite"
    wizard = SyncSetupWizard(state, tmp_path / "lib", kdf=TEST_KDF)
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.server
    assert page.no_keyring.isVisible() and page.use_file.isVisible()
    assert "not* protected" in page.no_keyring.text().replace("<i>", "*").replace("</i>", "*")
    _fill_server(wizard, wsgidav_server.url, create=True)
    assert not page.isComplete()  # the writer has to choose the file knowingly
    page.use_file.setChecked(True)
    assert page.isComplete()
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.keys, timeout=20_000)
    wizard.keys.passphrase.setText(PASSPHRASE)
    wizard.keys.repeat.setText(PASSPHRASE)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.recovery, timeout=20_000)
    assert len(wizard.recovery.key.text().replace("-", "")) == 32
    assert wizard.engine is not None
    wizard.engine.close()
    assert (tmp_path / "s" / "sync-secrets.json").exists()
