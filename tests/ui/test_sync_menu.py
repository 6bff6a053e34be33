"""Sync inside a real main window: Settings › Sync actions, set-up, reload of open documents,
the mass-delete question, passphrase change and forgetting the device."""

# The WebDAV fixtures come from tests/sync/dav_fixtures.py; test arguments reuse their names.
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from PySide6.QtWidgets import QDialogButtonBox, QWizard

from desktop.sync.remote_store import STOPPED
from desktop.ui.sync_menu import install_sync
from tests.sync.dav_fixtures import fleet_factory, proxy, wsgidav_server  # noqa: F401 - fixtures
from tests.sync.dav_harness import (
    PASSPHRASE,
    PASSWORD,
    USER,
    DavServer,
    FaultProxy,
    Fleet,
)


@pytest.fixture
def features():
    made = []
    yield made
    for feature in made:
        feature.shutdown()


def _set_up(qtbot, window, features, url: str):
    feature = install_sync(window)
    features.append(feature)
    wizard = feature.open_setup()
    page = wizard.server
    page.url.setText(url)
    page.user.setText(USER)
    page.password.setText(PASSWORD)
    page.join_existing.setChecked(True)
    wizard.next()  # the server page checks the server first, then moves on by itself
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.keys, timeout=20_000)
    wizard.keys.passphrase.setText(PASSPHRASE)
    with qtbot.waitSignal(wizard.accepted):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    assert feature.controller is not None
    return feature


def test_actions_live_in_a_sync_submenu_of_settings(make_window, features) -> None:
    window = make_window()
    feature = install_sync(window)
    features.append(feature)
    window.registry.refresh_enabled()
    assert window.registry.action("sync.setup").isEnabled()
    assert not window.registry.action("sync.now").isEnabled()
    sync_menu = window.menu("Settings › Sync")
    assert sync_menu.menuAction() in window.menu("Settings").actions()
    assert sync_menu.title() == "Sync"
    texts = [a.text() if not a.isSeparator() else "—" for a in sync_menu.actions()]
    assert texts[:3] == ["Set up sync…", "—", "Sync now"]
    assert texts.count("—") == 3  # set up / a round / versions / this device
    settings = [a.text() for a in window.menu("Settings").actions()]
    assert "Sync now" not in settings, "the greyed-out commands stay out of Settings itself"


def test_join_from_the_window_and_reload_an_open_document(
    qtbot, make_window, features, wsgidav_server: DavServer, fleet_factory, library
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    other = fleet.add("Desk")
    other.write("Chapter.md", "first words\n")
    other.sync()

    window = make_window()
    feature = _set_up(qtbot, window, features, wsgidav_server.url)
    qtbot.waitUntil(lambda: (Path(library.root) / "Chapter.md").exists(), timeout=20_000)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)
    document = window.open_document(Path(library.root) / "Chapter.md")
    assert document.editor.text() == "first words\n"

    other.write("Chapter.md", "first words, edited on the desk\n")
    other.sync()
    with qtbot.waitSignal(feature.controller.files_changed, timeout=20_000):
        window.registry.trigger("sync.now")
    qtbot.waitUntil(
        lambda: document.editor.text() == "first words, edited on the desk\n", timeout=5_000
    )
    assert feature.status is not None and feature.status.text().startswith("Synced")

    window.registry.refresh_enabled()
    assert not window.registry.action("sync.setup").isEnabled()
    history = feature.open_history()
    qtbot.addWidget(history)
    assert history.list.count() == 2


def test_mass_delete_asks_through_the_prompter(
    qtbot, make_window, features, wsgidav_server: DavServer, fleet_factory, library, prompter
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    other = fleet.add("Desk", confirm_deletes=lambda paths: True)
    for i in range(12):
        other.write(f"c{i}.md", f"{i}\n")
    other.sync()
    window = make_window()
    feature = _set_up(qtbot, window, features, wsgidav_server.url)
    qtbot.waitUntil(
        lambda: not feature.controller.running and feature.controller.last_report is not None,
        timeout=20_000,
    )
    assert len(list(Path(library.root).glob("c*.md"))) == 12
    for i in range(11):
        (other.library / f"c{i}.md").unlink()
    other.sync()
    prompter.confirms.append(False)
    with qtbot.waitSignal(feature.controller.finished, timeout=20_000) as done:
        feature.sync_now()
    assert len(done.args[0].kept) == 11
    assert any("would delete 11 documents" in m for m in prompter.messages("confirm"))
    assert len(list(Path(library.root).glob("c*.md"))) == 12


def test_change_passphrase_turn_off_and_forget(
    qtbot, make_window, features, wsgidav_server: DavServer, fleet_factory, prompter
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    fleet.add("Desk").sync()
    window = make_window()
    feature = _set_up(qtbot, window, features, wsgidav_server.url)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)

    feature.ask_passphrases = lambda parent: (PASSPHRASE, "new passphrase!", "new passphrase?")
    assert not feature.change_passphrase()
    assert "differ" in prompter.messages("error")[-1]
    feature.ask_passphrases = lambda parent: ("wrong one", "new passphrase!", "new passphrase!")
    with qtbot.waitSignal(feature.passphrase_changed, timeout=20_000) as outcome:
        assert feature.change_passphrase()
    assert outcome.args == [False]
    assert "does not open" in prompter.messages("error")[-1]
    feature.ask_passphrases = lambda parent: (PASSPHRASE, "new passphrase!", "new passphrase!")
    with qtbot.waitSignal(feature.passphrase_changed, timeout=20_000) as outcome:
        assert feature.change_passphrase()
    assert outcome.args == [True]
    assert "passphrase was changed" in prompter.messages("info")[-1]

    window.registry.action("sync.enabled").setChecked(False)
    assert not feature.controller.engine.enabled
    window.registry.action("sync.enabled").setChecked(True)
    assert feature.controller.engine.enabled
    # Switching off while a round runs waits for the round instead of blocking the window.
    assert feature.controller.running
    window.registry.action("sync.enabled").setChecked(False)
    assert feature.controller.engine.enabled
    qtbot.waitUntil(lambda: not feature.controller.engine.enabled, timeout=20_000)
    assert feature.status.text() == "Sync: off"
    feature.controller.sync_now()  # the timer firing while off does nothing
    assert not feature.controller.running
    window.registry.action("sync.enabled").setChecked(True)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)

    device_id = feature.controller.engine.device_id
    prompter.confirms.append(True)
    assert feature.forget()
    assert feature.controller is None
    assert keyring.get_password("Draftsmith Sync", f"data-key:{device_id}") is None
    assert not feature.state_path.exists()


def test_open_document_with_unsaved_edits_keeps_the_writers_text(
    qtbot, make_window, features, wsgidav_server: DavServer, fleet_factory, library
) -> None:
    from desktop.settings import Settings

    fleet: Fleet = fleet_factory(wsgidav_server.url)
    other = fleet.add("Desk")
    other.write("Chapter.md", "first words\n")
    other.sync()
    settings = Settings()
    settings.set("autosave_seconds", 600)  # the edit below stays unsaved until we save it
    settings.set("spell_check", False)
    window = make_window(settings=settings)
    feature = _set_up(qtbot, window, features, wsgidav_server.url)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)
    root = Path(library.root)
    document = window.open_document(root / "Chapter.md")
    document.editor.insert_text_as_one_undo_step("My opening. ", 0)
    assert document.is_dirty()

    other.write("Chapter.md", "first words, changed on the desk\n")
    other.sync()
    with qtbot.waitSignal(feature.controller.finished, timeout=20_000) as done:
        feature.sync_now()
    assert done.args[0].skipped_busy == ["Chapter.md"]
    assert (root / "Chapter.md").read_text() == "first words\n"  # the file was left alone
    assert document.editor.text() == "My opening. first words\n"

    assert document.save()
    with qtbot.waitSignal(feature.controller.conflicts_found, timeout=20_000) as found:
        feature.sync_now()
    assert document.path == root / "Chapter.md"  # still the same open document
    assert (root / "Chapter.md").read_text() == "My opening. first words\n"
    assert (root / found.args[0][0]).read_text() == "first words, changed on the desk\n"


def test_read_only_window_does_not_sync(make_window, features, prompter) -> None:
    window = make_window(read_only=True)
    feature = install_sync(window)
    features.append(feature)
    window.registry.refresh_enabled()
    assert not window.registry.action("sync.setup").isEnabled()
    assert feature.open_setup() is None
    assert "another Draftsmith window" in prompter.messages("info")[-1]


def test_next_start_resumes_sync_without_asking_again(
    qtbot, make_window, features, wsgidav_server: DavServer, fleet_factory, library
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    other = fleet.add("Desk")
    first = _set_up(qtbot, make_window(), features, wsgidav_server.url)
    qtbot.waitUntil(lambda: not first.controller.running, timeout=20_000)
    first.shutdown()  # the app quits

    other.write("later.md", "written while the app was closed\n")
    other.sync()
    second = install_sync(make_window())
    features.append(second)
    qtbot.waitUntil(
        lambda: second.controller is not None, timeout=20_000
    )  # keyring read off-thread
    qtbot.waitUntil(lambda: (Path(library.root) / "later.md").exists(), timeout=20_000)
    qtbot.waitUntil(lambda: not second.controller.running, timeout=20_000)


def test_deleted_documents_can_be_brought_back(
    qtbot, make_window, features, wsgidav_server: DavServer, fleet_factory, library
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    other = fleet.add("Desk")
    other.write("Old chapter.md", "cut, but maybe not forever\n")
    other.write("Kept.md", "kept\n")
    other.sync()
    window = make_window()
    feature = _set_up(qtbot, window, features, wsgidav_server.url)
    root = Path(library.root)
    qtbot.waitUntil(lambda: (root / "Old chapter.md").exists(), timeout=20_000)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)
    (other.library / "Old chapter.md").unlink()
    other.sync()
    with qtbot.waitSignal(feature.controller.finished, timeout=20_000):
        feature.sync_now()
    assert not (root / "Old chapter.md").exists()

    dialog = feature.open_deleted()
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=20_000)
    assert dialog.list.item(0).text().startswith("Old chapter.md — ")
    with qtbot.waitSignal(dialog.restored, timeout=20_000) as restored:
        dialog.restore_selected()
    assert restored.args == ["Old chapter.md"]
    assert (root / "Old chapter.md").read_text() == "cut, but maybe not forever\n"
    assert window.current_document().path == root / "Old chapter.md"  # opened for the writer
    qtbot.waitUntil(lambda: dialog.list.count() == 0, timeout=20_000)  # it lives again
    dialog.close()
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)
    other.sync()
    assert other.read("Old chapter.md") == "cut, but maybe not forever\n"


def test_open_document_keeps_the_writers_text_when_another_device_conflicts(
    qtbot, make_window, features, wsgidav_server: DavServer, fleet_factory, library
) -> None:
    """Issue 12, finding 5: this device published its edit first, the desk then saved its
    own edit over it; the document open here still shows the writer's text afterwards, on
    both devices, and the desk's text is the copy named after the desk."""
    from desktop.settings import Settings

    fleet: Fleet = fleet_factory(wsgidav_server.url)
    other = fleet.add("Desk")
    other.write("Chapter.md", "first words\n")
    other.sync()
    settings = Settings()
    settings.set("spell_check", False)
    window = make_window(settings=settings)
    feature = _set_up(qtbot, window, features, wsgidav_server.url)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)
    root = Path(library.root)
    document = window.open_document(root / "Chapter.md")
    document.editor.insert_text_as_one_undo_step("My opening. ", 0)
    assert document.save()
    with qtbot.waitSignal(feature.controller.finished, timeout=20_000):
        feature.sync_now()  # published here first

    other.write("Chapter.md", "the desk's own words\n")  # edited there before it synced
    other.sync()
    with qtbot.waitSignal(feature.controller.conflicts_found, timeout=20_000) as found:
        feature.sync_now()
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)
    ((copy,),) = found.args
    assert copy.startswith("Chapter (conflict from Desk, ")
    assert (root / copy).read_text() == "the desk's own words\n"
    assert (root / "Chapter.md").read_text() == "My opening. first words\n"
    assert document.editor.text() == "My opening. first words\n"
    assert not document.is_dirty()

    other.sync()
    assert other.read("Chapter.md") == "My opening. first words\n"
    assert other.files() == {
        p.relative_to(root).as_posix(): p.read_text()
        for p in root.rglob("*.md")
        if not p.relative_to(root).as_posix().startswith(".")
    }


def test_old_versions_policy_and_compact_now_from_the_settings_menu(
    qtbot, make_window, features, wsgidav_server: DavServer, fleet_factory, prompter, tmp_path
) -> None:
    from desktop.sync.retention import RetentionPolicy

    fleet: Fleet = fleet_factory(wsgidav_server.url)
    desk = fleet.add("Desk")
    desk.write("Chapter.md", "first words\n")
    desk.sync()
    window = make_window()
    feature = _set_up(qtbot, window, features, wsgidav_server.url)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)
    assert window.registry.action("sync.retention") in window.menu("Settings › Sync").actions()

    dialog = feature.open_retention()
    assert dialog.keep_all.value() == 30 and dialog.daily.value() == 365
    dialog.keep_all.setValue(400)  # longer than the daily window: refused in plain words
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    assert "at least as long" in dialog.summary.text()
    dialog.keep_all.setValue(14)
    dialog.daily.setValue(90)
    dialog.grab().save(str(tmp_path / "retention.png"))
    dialog.accept()
    assert feature.controller.engine.retention_policy == RetentionPolicy(14, 90)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)
    desk.sync()  # the other device takes the library's policy from the log
    assert desk.engine.retention_policy == RetentionPolicy(14, 90)

    with qtbot.waitSignal(feature.compacted, timeout=30_000):
        window.registry.trigger("sync.compact")
    assert "new devices start from checkpoint 1" in prompter.messages("info")[-1]
    assert (wsgidav_server.root / "checkpoints" / "000000000001").exists()


def test_turning_sync_off_during_a_round_stops_its_transfers(
    qtbot,
    make_window,
    features,
    wsgidav_server: DavServer,
    proxy: FaultProxy,
    fleet_factory,
    library,
) -> None:
    fleet: Fleet = fleet_factory(wsgidav_server.url)
    desk = fleet.add("Desk")
    for i in range(30):
        desk.write(f"Chapter {i}.md", f"words of chapter {i}\n")
    desk.sync()
    gets: list[str] = []

    def slow_blobs(method: str, path: str) -> str | None:
        if method == "GET" and path.startswith("/blobs/"):
            gets.append(path)
            return "delay"
        return None

    proxy.set_policy(slow_blobs)
    window = make_window()
    feature = _set_up(qtbot, window, features, proxy.url)
    qtbot.waitUntil(lambda: len(gets) >= 3, timeout=20_000)
    window.registry.action("sync.enabled").setChecked(False)
    qtbot.waitUntil(lambda: not feature.controller.engine.enabled, timeout=20_000)
    assert feature.controller.last_report.error == STOPPED
    assert len(gets) < 30  # the round ended without fetching the rest

    proxy.clear()
    window.registry.action("sync.enabled").setChecked(True)
    qtbot.waitUntil(lambda: not feature.controller.running, timeout=20_000)
    assert feature.controller.last_report.error is None
    for i in range(30):
        assert (Path(library.root) / f"Chapter {i}.md").read_text() == f"words of chapter {i}\n"
