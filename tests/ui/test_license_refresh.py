"""The background license check against the real license server: a revocation made with the
vendor's command line reaches the activated machine, AI and sync stop with the reason, the
editor is untouched, and an old copy of the license file is refused."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from desktop.sync.entitlement import sync_permission
from desktop.ui.license_refresh import LicenseRefresher
from licensing.client import (
    ActivationClient,
    CertificateError,
    feature_status,
    import_license,
    license_status,
    status,
)
from licensing.client.license_files import read_certificate_bytes
from licensing.tools import cli
from tests.licensing import conftest as licensing_fixtures
from tests.licensing.conftest import RunningServer

private_key = licensing_fixtures.private_key
signer = licensing_fixtures.signer
trust_test_key = licensing_fixtures.trust_test_key
server = licensing_fixtures.server


def run_check(qtbot: Any, refresher: LicenseRefresher) -> Any:
    with qtbot.waitSignal(refresher.checked, timeout=20_000) as blocker:
        refresher.check_now()
    return blocker.args[0]


def test_revocation_reaches_the_machine_through_the_background_check(
    qtbot: Any, server: RunningServer, make_window: Any, tmp_path: Path
) -> None:
    license_id, key = server.mint()
    ActivationClient(server.url).activate(key)
    old_copy = read_certificate_bytes()
    assert old_copy is not None and license_status().state == status.LICENSED

    database = server.settings.database_url
    assert cli.main(["revoke", license_id, "--db", database]) == 0

    window = make_window()
    # The next day, the background check is due (online certificates are checked daily).
    refresher = LicenseRefresher(
        window,
        client_factory=lambda: ActivationClient(server.url),
        clock=lambda: time.time() + 86400 + 60,
    )
    after = run_check(qtbot, refresher)

    assert after.state == status.NOT_VALID
    assert "revoked" in after.reason
    for gate in (feature_status("ai"), sync_permission()):
        assert not gate.allowed and "revoked" in gate.reason
    assert read_certificate_bytes() is None

    # The editor is untouched: a document opens, takes text and saves.
    document = window.open_document(window.library.create_document(title="After revocation"))
    document.editor.setFocus()
    qtbot.keyClicks(document.editor, "still writing")
    window.save_current()  # Ctrl+S: the write happens on the save thread
    qtbot.waitUntil(
        lambda: "still writing" in document.path.read_text(encoding="utf-8"), timeout=10_000
    )
    assert not document.editor.isReadOnly()

    # Re-importing the saved copy of the certificate is refused.
    try:
        import_license(old_copy)
    except CertificateError as error:
        assert "withdrawn" in str(error)
    else:
        raise AssertionError("an old copy of a revoked license was accepted")
    assert read_certificate_bytes() is None
    assert not feature_status("ai").allowed


def test_the_background_check_is_quiet_when_the_server_is_unreachable(
    qtbot: Any, server: RunningServer, make_window: Any
) -> None:
    import threading

    _, key = server.mint()
    ActivationClient(server.url).activate(key)
    window = make_window()
    seen_threads: list[str] = []

    def unreachable() -> ActivationClient:
        seen_threads.append(threading.current_thread().name)
        return ActivationClient("http://127.0.0.1:9", timeout=2)

    refresher = LicenseRefresher(
        window, client_factory=unreachable, clock=lambda: time.time() + 40 * 86400
    )
    after = run_check(qtbot, refresher)
    assert seen_threads == ["license-refresh"]  # off the GUI thread
    assert after.state == status.LICENSED and after.allows("ai")  # still licensed, no error
    assert read_certificate_bytes() is not None
    assert window.prompter.messages("error") == [] and window.prompter.messages("info") == []
