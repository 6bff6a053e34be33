"""Help > License against the real license server on 127.0.0.1 (only file pickers are patched)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from desktop.ui.license_dialog import LicenseDialog
from licensing.client import ActivationClient, license_status
from licensing.client.fingerprint import fingerprint_of
from licensing.client.license_key import generate_key
from licensing.client.paths import KEYRING_SERVICE
from tests.keyring_memory import MemoryKeyring
from tests.licensing import conftest as licensing_fixtures
from tests.licensing.conftest import RunningServer

# The licensing fixtures: a test signing key the client trusts, and the real server.
private_key = licensing_fixtures.private_key
signer = licensing_fixtures.signer
trust_test_key = licensing_fixtures.trust_test_key
server = licensing_fixtures.server


def make_dialog(qtbot: Any, server: RunningServer) -> LicenseDialog:
    dialog = LicenseDialog(client=ActivationClient(server.url))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.status is not None, timeout=20_000)  # shown after opening
    return dialog


def activate_in(qtbot: Any, dialog: LicenseDialog, key: str) -> tuple[str, bool, str]:
    dialog.key_edit.clear()
    qtbot.keyClicks(dialog.key_edit, key)
    with qtbot.waitSignal(dialog.operation_finished, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    return tuple(blocker.args)  # type: ignore[return-value]


def test_first_run_shows_the_trial(qtbot: Any, server: RunningServer) -> None:
    dialog = make_dialog(qtbot, server)
    assert "Free trial: 14 days left" in dialog.status_label.text()
    assert dialog.edition_label.text() == "—"


def test_trial_expiry_message(
    qtbot: Any, server: RunningServer, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.entries[(KEYRING_SERVICE, "trial-started")] = str(int(time.time()) - 20 * 86400)
    dialog = make_dialog(qtbot, server)
    text = dialog.status_label.text()
    assert "trial has ended" in text and "documents, the editor and export keep working" in text


def test_activate_with_a_key(qtbot: Any, server: RunningServer) -> None:
    _, key = server.mint(edition="pro")
    dialog = make_dialog(qtbot, server)
    kind, ok, message = activate_in(qtbot, dialog, key.lower().replace("-", " "))
    assert (kind, ok) == ("activate", True), message
    assert "Licensed: pro edition" in dialog.status_label.text()
    assert dialog.edition_label.text() == "Pro"
    assert dialog.updates_label.text() == "2027-06-01"
    assert dialog.machine_list.count() == 1
    assert "(this computer)" in dialog.machine_list.item(0).text()


def test_a_typo_is_caught_before_any_network(qtbot: Any, server: RunningServer) -> None:
    dialog = make_dialog(qtbot, server)
    key = generate_key()
    typo = key[:-1] + ("0" if key[-1] != "0" else "1")
    qtbot.keyClicks(dialog.key_edit, typo)
    with qtbot.waitSignal(dialog.operation_finished, timeout=1000) as blocker:
        qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == "key" and not blocker.args[1]
    assert "typo" in dialog.message_label.text()


def test_too_many_machines_then_deactivate_one(qtbot: Any, server: RunningServer) -> None:
    _, key = server.mint(seats=1)
    requests.post(
        f"{server.url}/v1/activate",
        json={
            "key": key,
            "fingerprint": fingerprint_of("old-laptop"),
            "machine_name": "old laptop",
            "nonce": secrets.token_hex(8),
        },
        timeout=10,
    ).raise_for_status()
    dialog = make_dialog(qtbot, server)
    _, ok, message = activate_in(qtbot, dialog, key)
    assert not ok and "already activated on 1 of 1 machines" in message
    qtbot.waitUntil(lambda: dialog.machine_list.count() == 1, timeout=20_000)
    assert "old laptop" in dialog.machine_list.item(0).text()
    dialog.machine_list.setCurrentRow(0)
    with qtbot.waitSignal(dialog.operation_finished, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.deactivate_button, Qt.MouseButton.LeftButton)
    assert blocker.args[:2] == ["deactivate", True]
    assert "old laptop is deactivated" in dialog.message_label.text()
    _, ok, message = activate_in(qtbot, dialog, key)
    assert ok, message


def test_deactivate_this_computer(qtbot: Any, server: RunningServer) -> None:
    _, key = server.mint()
    dialog = make_dialog(qtbot, server)
    assert activate_in(qtbot, dialog, key)[1]
    dialog.machine_list.setCurrentRow(0)
    with qtbot.waitSignal(dialog.operation_finished, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.deactivate_button, Qt.MouseButton.LeftButton)
    assert blocker.args[1], blocker.args
    assert "This computer is deactivated" in dialog.message_label.text()
    assert "Free trial" in dialog.status_label.text()
    assert dialog.machine_list.count() == 0


def test_offline_request_and_import(
    qtbot: Any, server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    license_id, key = server.mint()
    dialog = make_dialog(qtbot, server)
    qtbot.keyClicks(dialog.key_edit, key)
    qtbot.mouseClick(dialog.request_button, Qt.MouseButton.LeftButton)
    request_text = dialog.request_text.toPlainText()
    assert request_text.startswith("-----BEGIN DRAFTSMITH ACTIVATION REQUEST-----")
    saved = tmp_path / "request.txt"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(saved), ""))
    qtbot.mouseClick(dialog.save_request_button, Qt.MouseButton.LeftButton)
    assert saved.read_text() == request_text
    # on another device: the activation page turns the request into a license file
    reply = requests.post(
        f"{server.url}/offline",
        files={"request_file": ("request.txt", saved.read_bytes(), "text/plain")},
        timeout=10,
    )
    reply.raise_for_status()
    license_file = tmp_path / "draftsmith-license.txt"
    license_file.write_bytes(reply.content)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(license_file), ""))
    with qtbot.waitSignal(dialog.operation_finished, timeout=1000) as blocker:
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert blocker.args[:2] == ["import", True]
    assert "Licensed" in dialog.status_label.text()
    assert license_status().certificate.license_id == license_id


def test_importing_a_damaged_file_explains_why(
    qtbot: Any, server: RunningServer, tmp_path: Path
) -> None:
    dialog = make_dialog(qtbot, server)
    damaged = tmp_path / "license.txt"
    damaged.write_text("-----BEGIN DRAFTSMITH LICENSE-----\nAAAA\n")
    with qtbot.waitSignal(dialog.operation_finished, timeout=1000) as blocker:
        dialog.import_file(damaged)
    assert not blocker.args[1]
    assert "cut short" in dialog.message_label.text()
    assert "Free trial" in dialog.status_label.text()


def test_no_server_is_a_plain_message(qtbot: Any) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    dialog = LicenseDialog(client=ActivationClient(f"http://127.0.0.1:{port}", timeout=2))
    qtbot.addWidget(dialog)
    _, ok, message = activate_in(qtbot, dialog, generate_key())
    assert not ok and "Could not reach the license server" in message
    assert dialog.activate_button.isEnabled()


def test_the_dialog_opens_at_once_even_when_the_keyring_hangs(
    qtbot: Any, server: RunningServer
) -> None:
    import keyring

    from tests.licensing.keyring_backends import HangingKeyring

    hanging = HangingKeyring()
    keyring.set_keyring(hanging)
    try:
        started = time.perf_counter()
        dialog = LicenseDialog(client=ActivationClient(server.url))
        qtbot.addWidget(dialog)
        dialog.show()
        opened = time.perf_counter() - started
        assert opened < 0.5, f"the dialog took {opened:.2f} s to open"
        assert "Checking the license" in dialog.status_label.text()
        with qtbot.waitSignal(dialog.status_loaded, timeout=20_000):
            pass
        assert "Free trial" in dialog.status_label.text()
    finally:
        hanging.release.set()


def test_closing_the_dialog_before_the_status_arrives_is_quiet(
    qtbot: Any, server: RunningServer
) -> None:
    """Closed (and deleted) while the keyring still hangs: the late status is dropped, not
    shown on a dialog that is gone (pytest-qt fails the test on an error in a Qt slot)."""
    import keyring
    import shiboken6
    from PySide6.QtCore import QThreadPool

    from tests.licensing.keyring_backends import HangingKeyring

    hanging = HangingKeyring()
    keyring.set_keyring(hanging)
    try:
        dialog = LicenseDialog(client=ActivationClient(server.url))
        dialog.show()
        shiboken6.delete(dialog)
    finally:
        hanging.release.set()
    assert QThreadPool.globalInstance().waitForDone(20_000)
    qtbot.wait(50)  # deliver the late status


def test_a_key_with_u_says_which_letters_keys_do_not_use(qtbot: Any, server: RunningServer) -> None:
    dialog = make_dialog(qtbot, server)
    key = generate_key()
    qtbot.keyClicks(dialog.key_edit, "U" + key.replace("-", "")[1:])  # 25 symbols, one a U
    with qtbot.waitSignal(dialog.operation_finished, timeout=1000):
        qtbot.mouseClick(dialog.activate_button, Qt.MouseButton.LeftButton)
    message = dialog.message_label.text()
    assert "never use the letter U" in message and "I, L or O" in message
    assert "only letters and digits" not in message


def test_a_trial_user_without_a_keyring_sees_no_keyring_warning(
    qtbot: Any, server: RunningServer
) -> None:
    import keyring

    from tests.licensing.keyring_backends import BrokenKeyring

    keyring.set_keyring(BrokenKeyring())
    dialog = make_dialog(qtbot, server)
    assert "Free trial" in dialog.status_label.text()
    assert dialog.status is not None and dialog.status.notes  # licensing did notice...
    assert not dialog.notes_label.isVisible()  # ...but it's noise on the trial
    assert "keyring" not in dialog.notes_label.text().lower()


def test_show_machines_works_without_a_stored_key(qtbot: Any, server: RunningServer) -> None:
    import keyring

    from tests.licensing.keyring_backends import BrokenKeyring

    _, key = server.mint()
    keyring.set_keyring(BrokenKeyring())  # the key can't be remembered
    ActivationClient(server.url).activate(key)
    dialog = make_dialog(qtbot, server)
    assert not dialog.key_edit.text()
    with qtbot.waitSignal(dialog.operation_finished, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.refresh_machines_button, Qt.MouseButton.LeftButton)
    assert blocker.args[:2] == ["machines", True], blocker.args
    assert dialog.machine_list.count() == 1
    assert "(this computer)" in dialog.machine_list.item(0).text()


def test_refresh_now_checks_the_license_and_shows_a_revocation(
    qtbot: Any, server: RunningServer
) -> None:
    from licensing.server import licenses

    license_id, key = server.mint()
    ActivationClient(server.url).activate(key)
    dialog = make_dialog(qtbot, server)
    assert dialog.refresh_button.isEnabled()
    with qtbot.waitSignal(dialog.operation_finished, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.refresh_button, Qt.MouseButton.LeftButton)
    assert blocker.args[:2] == ["refresh", True], blocker.args
    with server.sessions() as session, session.begin():
        licenses.set_status(session, license_id, "revoked")
    with qtbot.waitSignal(dialog.operation_finished, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.refresh_button, Qt.MouseButton.LeftButton)
    assert blocker.args[:2] == ["refresh", False]
    assert "revoked" in dialog.status_label.text()
    assert not dialog.refresh_button.isEnabled()
