"""Hooks sync into the main window through its action registry (Settings › Sync + palette),
its status bar and its open documents. The only call the app needs::

    from desktop.ui.sync_menu import install_sync
    window.sync = install_sync(window)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QWidget

from desktop.sync import library_files
from desktop.sync.entitlement import sync_permission
from desktop.sync.errors import NotSetUp, SyncError
from desktop.sync.locations import state_path_for
from desktop.ui.action_registry import SUBMENU_SEPARATOR
from desktop.ui.open_document import OpenDocument
from desktop.ui.window_activation import present
from desktop.ui.window_seam import EditorWindow

# The engine, its WebDAV client (requests, the crypto) and the dialogs import in ~0.3 s, a
# thread's worth of interpreter-lock time the editor feels while it starts: they load when
# sync is set up (its engine opens on a thread) or a sync dialog is asked for, not before.
if TYPE_CHECKING:
    from desktop.sync import SyncEngine
    from desktop.sync.retention import RetentionPolicy
    from desktop.ui.sync_controller import SyncController
    from desktop.ui.sync_history_dialog import SyncDeletedDialog, SyncHistoryDialog
    from desktop.ui.sync_retention_dialog import RetentionDialog
    from desktop.ui.sync_setup_wizard import SyncSetupWizard
    from desktop.ui.sync_status import ConflictNotice, SyncLogDialog, SyncStatusButton

log = logging.getLogger(__name__)

MENU = f"Settings{SUBMENU_SEPARATOR}Sync"
MAX_LISTED = 15


class PassphraseDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change sync passphrase")
        self.current = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.new = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        form = QFormLayout(self)
        form.addRow("Current passphrase", self.current)
        form.addRow("New passphrase", self.new)
        form.addRow("Repeat it", self.repeat)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


def _ask_passphrases(parent: QWidget) -> tuple[str, str, str] | None:
    dialog = PassphraseDialog(parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.current.text(), dialog.new.text(), dialog.repeat.text()


class SyncFeature(QObject):
    """Owns the engine and controller for the window's library (None until set up)."""

    def __init__(
        self,
        window: EditorWindow,
        ask_passphrases: Callable[[QWidget], tuple[str, str, str] | None] = _ask_passphrases,
    ) -> None:
        super().__init__(window.window())
        self.window = window
        self.window_widget = window.window()  # the parent of sync's dialogs
        self.root = Path(window.library.root)
        self.state_path = state_path_for(self.root)
        self.ask_passphrases = ask_passphrases
        self.controller: SyncController | None = None
        self.status: SyncStatusButton | None = None
        self._connected_docs: set[int] = set()
        self._pending_enabled: bool | None = None
        self._closed = False
        self.read_only = window.read_only
        r = window.registry.register
        r(
            "sync.setup",
            "Set up sync…",
            self.open_setup,
            menu=MENU,
            enabled=lambda: self.controller is None and not self.read_only,
        )
        r("sync.now", "Sync now", self.sync_now, menu=MENU, enabled=self._active)
        r(
            "sync.log",
            "Sync log…",
            self.open_log,
            menu=MENU,
            enabled=lambda: self.controller is not None,
        )
        r(
            "sync.history",
            "Synced versions of this document…",
            self.open_history,
            menu=MENU,
            enabled=lambda: self.controller is not None and window.current_document() is not None,
        )
        r(
            "sync.deleted",
            "Deleted documents (from sync)…",
            self.open_deleted,
            menu=MENU,
            enabled=lambda: self.controller is not None,
        )
        r(
            "sync.retention",
            "Old versions on the sync server…",
            self.open_retention,
            menu=MENU,
            enabled=lambda: self.controller is not None,
        )
        r(
            "sync.compact",
            "Compact the sync folder now",
            self.compact_now,
            menu=MENU,
            enabled=self._active,
        )
        r(
            "sync.passphrase",
            "Change sync passphrase…",
            self.change_passphrase,
            menu=MENU,
            enabled=lambda: self.controller is not None,
        )
        self.toggle = r(
            "sync.enabled",
            "Sync on this device",
            self._toggled,
            menu=MENU,
            checkable=True,
            checked=False,
        )
        r(
            "sync.forget",
            "Forget this device for sync…",
            self.forget,
            menu=MENU,
            enabled=lambda: self.controller is not None,
        )
        window.current_editor_changed.connect(lambda _editor: self._connect_saves())
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # the sync thread must end before Qt does
        if self.read_only:
            # Another Draftsmith window owns this library (and its sync) right now.
            return
        if self.state_path.exists():
            # Opening the engine reads the keyring, which can be slow or wait for an unlock
            # prompt: do it in a thread and start syncing when it is ready.
            self.engine_ready.connect(self._start)
            threading.Thread(target=self._open_engine, name="sync-open", daemon=True).start()

    engine_ready = Signal(object)

    def _open_engine(self) -> None:
        from desktop.sync import SyncEngine

        try:
            engine = SyncEngine(self.state_path, self.root)
        except NotSetUp:
            return
        except SyncError as exc:  # e.g. secrets missing from the keyring
            log.warning("sync could not start: %s", exc)
            return
        if shiboken6.isValid(self):  # the window (and this object) may have closed meanwhile
            self.engine_ready.emit(engine)

    # --- state ---------------------------------------------------------------------------

    def _active(self) -> bool:
        return self.controller is not None and self.controller.engine.enabled

    def _start(self, engine: SyncEngine) -> None:
        if self._closed:
            engine.close()
            return
        from desktop.ui.sync_controller import SyncController
        from desktop.ui.sync_status import SyncStatusButton

        self.controller = SyncController(engine, self._confirm_deletes, parent=self)
        self.controller.held_paths = self._unsaved_paths
        self.controller.open_paths = self._open_paths
        self.controller.files_changed.connect(self._reload_open_documents)
        self.controller.conflicts_found.connect(self.show_conflicts)
        self.status = SyncStatusButton(self.controller)
        self.controller.finished.connect(self._after_round)  # after the status has updated
        self.window.add_status_widget(self.status)
        self.toggle.blockSignals(True)
        self.toggle.setChecked(engine.enabled)
        self.toggle.blockSignals(False)
        self._connect_saves()
        if engine.enabled:
            self.controller.sync_now()

    def _stop(self) -> None:
        if self.controller is not None:
            self.controller.shutdown()
            self.controller.engine.close()
            # Stopped, it stays a child of this object: deleting it while Python still
            # holds signal connections to it crashed Qt on the next style change.
            self.controller = None
        if self.status is not None:
            self.status.hide()
            self.status = None

    def shutdown(self) -> None:
        self._closed = True
        self._stop()

    # --- actions -------------------------------------------------------------------------

    def open_setup(self) -> SyncSetupWizard | None:
        if self.read_only:
            self.window.prompter.info(
                "Sync", "This library is open in another Draftsmith window; set up sync there."
            )
            return None
        permission = sync_permission()
        if not permission.allowed:
            self.window.prompter.info("Sync", permission.reason)
            return None
        from desktop.ui.sync_setup_wizard import SyncSetupWizard

        wizard = SyncSetupWizard(self.state_path, self.root, parent=self.window_widget)

        def finished() -> None:
            if wizard.engine is not None:
                self._start(wizard.engine)

        wizard.accepted.connect(finished)
        wizard.open()
        return wizard

    def sync_now(self) -> None:
        if self.controller is not None:
            self.controller.sync_now()

    def open_log(self) -> SyncLogDialog | None:
        if self.controller is None:
            return None
        from desktop.ui.sync_status import SyncLogDialog

        dialog = SyncLogDialog(self.controller, self.window_widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        present(dialog)
        return dialog

    def open_history(self) -> SyncHistoryDialog | None:
        document = self.window.current_document()
        if self.controller is None or document is None:
            return None
        rel = Path(document.path).resolve().relative_to(self.root.resolve()).as_posix()
        from desktop.ui.sync_history_dialog import SyncHistoryDialog

        dialog = SyncHistoryDialog(self.controller, rel, self.window_widget)
        dialog.restored.connect(lambda _path: self._reload_open_documents([rel]))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        present(dialog)
        return dialog

    def open_deleted(self) -> SyncDeletedDialog | None:
        if self.controller is None:
            return None
        from desktop.ui.sync_history_dialog import SyncDeletedDialog

        dialog = SyncDeletedDialog(self.controller, self.window_widget)
        dialog.restored.connect(lambda rel: self.window.open_document(self.root / rel))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        present(dialog)
        return dialog

    def show_conflicts(self, paths: list[str]) -> ConflictNotice:
        from desktop.ui.sync_status import ConflictNotice

        notice = ConflictNotice(paths, self.window_widget)
        notice.open_requested.connect(lambda rel: self.window.open_document(self.root / rel))
        notice.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        notice.show()
        return notice

    def open_retention(self) -> RetentionDialog | None:
        """Change how long old versions stay on the server (for the whole library)."""
        if self.controller is None:
            return None
        with self.controller.engine_lock:
            policy = self.controller.engine.retention_policy
        from desktop.ui.sync_retention_dialog import RetentionDialog

        dialog = RetentionDialog(policy, self.window_widget)
        dialog.accepted.connect(lambda: self._set_retention(dialog.policy()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _set_retention(self, policy: RetentionPolicy | None) -> None:
        if self.controller is None or policy is None:
            return
        with self.controller.engine_lock:
            self.controller.engine.set_retention(policy)
        self.controller.sync_now()  # tells the other devices

    compacted = Signal(object)  # CompactionResult, None (another device is at it) or an error

    def compact_now(self) -> bool:
        """Sync, then compact the sync folder on the sync thread; ``compacted`` reports."""
        if self.controller is None:
            return False
        engine = self.controller.engine
        self.controller.sync_now()
        self.controller.run_job(engine.compact_now, self._compact_done)
        return True

    def _compact_done(self, result: object) -> None:
        if isinstance(result, Exception):
            message = str(result) if isinstance(result, SyncError) else f"Failed: {result}"
            self.window.prompter.error("Compact the sync folder", message)
        elif result is None:
            self.window.prompter.info(
                "Compact the sync folder",
                "Another device is compacting the sync folder right now; nothing was done here.",
            )
        else:
            from desktop.sync.compaction import CompactionResult

            assert isinstance(result, CompactionResult)
            waiting = (
                f" Deleting waits until {', '.join(result.waiting_for)} has synced."
                if result.waiting_for
                else ""
            )
            self.window.prompter.info(
                "Compact the sync folder",
                f"{result.dropped} old versions let go; {result.blobs_deleted} stored versions "
                f"and {result.entries_deleted} log entries deleted from the server; new devices "
                f"start from checkpoint {result.checkpoint}.{waiting}",
            )
        self.compacted.emit(result)

    passphrase_changed = Signal(bool)

    def change_passphrase(self) -> bool:
        """Ask for the passphrases; the re-wrap runs on the sync thread (key derivation and
        server calls), then ``passphrase_changed`` reports the outcome. False if not started."""
        if self.controller is None:
            return False
        answer = self.ask_passphrases(self.window_widget)
        if answer is None:
            return False
        current, new, repeat = answer
        if new != repeat:
            self.window.prompter.error(
                "Sync", "The two new passphrases differ. Nothing was changed."
            )
            return False
        engine = self.controller.engine
        self.controller.run_job(
            lambda: engine.change_passphrase(current, new), self._passphrase_done
        )
        return True

    def _passphrase_done(self, result: object) -> None:
        if isinstance(result, Exception):
            message = str(result) if isinstance(result, SyncError) else f"Failed: {result}"
            self.window.prompter.error("Sync", message)
            self.passphrase_changed.emit(False)
            return
        self.window.prompter.info(
            "Sync",
            "The passphrase was changed. Your other devices keep syncing; use the new "
            "passphrase when you set up another device.",
        )
        self.passphrase_changed.emit(True)

    def _toggled(self) -> None:
        if self.controller is None:
            self.toggle.blockSignals(True)
            self.toggle.setChecked(False)
            self.toggle.blockSignals(False)
            self.open_setup()
            return
        if self.controller.running:
            # Never wait for the network on the GUI thread: apply when the round ends,
            # and turning off ends the round soon (it resumes when turned on again).
            self._pending_enabled = self.toggle.isChecked()
            if not self._pending_enabled:
                self.controller.engine.stop()
            return
        self._apply_enabled(self.toggle.isChecked())

    def _apply_enabled(self, on: bool) -> None:
        if self.controller is None:
            return
        with self.controller.engine_lock:
            if on:
                self.controller.engine.turn_on()
            else:
                self.controller.engine.turn_off()
        if on:
            self.controller.sync_now()
        elif self.status is not None:
            self.status.setText("Sync: off")
            self.status.setToolTip("Sync is turned off on this device (Settings).")

    def _after_round(self, _report: object) -> None:
        if self._pending_enabled is not None:
            on, self._pending_enabled = self._pending_enabled, None
            self._apply_enabled(on)

    def forget(self) -> bool:
        if self.controller is None:
            return False
        pending = self.controller.engine.unsent_versions()
        warning = (
            f"\n\n{pending} saved version{'s' if pending != 1 else ''} from this device "
            "have not reached the server yet; the current text stays in your library, but "
            "those in-between versions will not be in the history."
            if pending
            else ""
        )
        if not self.window.prompter.confirm(
            "Forget this device",
            "Sync stops on this device and its sync secrets are removed from the keyring. "
            "Your documents stay in the library folder and on your other devices." + warning,
        ):
            return False
        controller = self.controller
        controller.shutdown()
        with controller.engine_lock:
            controller.engine.forget_device()
        self.controller = None
        if self.status is not None:
            self.status.deleteLater()
            self.status = None
        self.toggle.blockSignals(True)
        self.toggle.setChecked(False)
        self.toggle.blockSignals(False)
        return True

    # --- editor seams --------------------------------------------------------------------

    def _confirm_deletes(self, paths: list[str]) -> bool:
        listed = "\n".join(paths[:MAX_LISTED])
        more = f"\n…and {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else ""
        return self.window.prompter.confirm(
            "Delete documents?",
            f"Sync would delete {len(paths)} documents on this device:\n\n{listed}{more}\n\n"
            "Yes deletes them (they stay in sync's version history). No keeps them and "
            "brings them back on your other devices too.",
        )

    def _connect_saves(self) -> None:
        if self.controller is None:
            return
        for document in self.window.documents:
            if id(document) not in self._connected_docs:
                self._connected_docs.add(id(document))
                document.saved.connect(self._on_saved)

    def _on_saved(self) -> None:
        if self.controller is not None and self.controller.engine.enabled:
            self.controller.document_saved()

    def _unsaved_paths(self) -> list[str]:
        return self._library_paths([d for d in self.window.documents if d.is_dirty()])

    def _open_paths(self) -> list[str]:
        return self._library_paths(list(self.window.documents))

    def _library_paths(self, documents: list[OpenDocument]) -> list[str]:
        """Library-relative paths of ``documents`` (outside files are left out)."""
        found = []
        for document in documents:
            try:
                found.append(Path(document.path).resolve().relative_to(self.root.resolve()))
            except ValueError:
                continue
        return [library_files.normalize(p.as_posix()) for p in found]

    def _reload_open_documents(self, rels: list[str]) -> None:
        changed = {(self.root / rel).resolve() for rel in rels}
        for document in self.window.documents:
            if Path(document.path).resolve() in changed:
                document.check_disk()  # reloads, or keeps both if the writer typed meanwhile


def install_sync(window: EditorWindow) -> SyncFeature:
    return SyncFeature(window)
