"""Help > License: trial status, activation by key, this license's machines, offline activation.

Network calls, and working out the status (the keyring can take seconds to answer), run on a
worker thread (``QThreadPool``) after the dialog shows; ``status_loaded`` says when the status
is on screen. The dialog reports each finished operation with
``operation_finished(kind, ok, message)``. Everything it knows comes from
``licensing.client``; it never imports the vendor's server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from licensing.client import (
    ActivationClient,
    LicenseError,
    LicenseKeyError,
    LicenseStatus,
    Machine,
    import_license,
    invalidate_status_cache,
    license_status,
    normalize_key,
    offline_request,
)
from licensing.client.activation import server_url
from licensing.client.errors import KeyringUnavailable
from licensing.client.fingerprint import machine_name
from licensing.client.keyring_store import KeyringStore

log = logging.getLogger(__name__)

BUY_URL = "https://draftsmith.app/buy"


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(str, str)


class _Task(QRunnable):
    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self.work = work
        self.signals = _Signals()
        self.setAutoDelete(False)

    def run(self) -> None:
        try:
            result = self.work()
        except LicenseError as error:
            self.signals.failed.emit(str(error), getattr(error, "code", ""))
        except Exception as error:  # shown to the user, never a crash
            log.exception("license operation failed")
            self.signals.failed.emit(f"Something went wrong: {type(error).__name__}.", "")
        else:
            self.signals.done.emit(result)


class LicenseDialog(QDialog):
    operation_finished = Signal(str, bool, str)  # kind, ok, message
    status_loaded = Signal(object)  # the LicenseStatus now shown

    def __init__(
        self, parent: QWidget | None = None, *, client: ActivationClient | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("License")
        self.resize(620, 640)
        self.client = client or ActivationClient()
        self._tasks: set[_Task] = set()
        self._status_tasks: set[_Task] = set()
        self.machines: list[Machine] = []

        self.status: LicenseStatus | None = None
        self.status_label = QLabel("Checking the license…", wordWrap=True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes_label = QLabel(wordWrap=True)
        self.edition_label = QLabel("—")
        self.purchased_label = QLabel("—")
        self.updates_label = QLabel("—")
        self.machine_label = QLabel(machine_name())
        details = QFormLayout()
        details.addRow("Edition:", self.edition_label)
        details.addRow("Purchased:", self.purchased_label)
        details.addRow("Updates until:", self.updates_label)
        details.addRow("This computer:", self.machine_label)
        buy = QLabel(f'<a href="{BUY_URL}">Buy Draftsmith</a>')
        buy.setOpenExternalLinks(True)

        self.key_edit = QLineEdit(placeholderText="XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")
        self.activate_button = QPushButton("Activate")
        self.refresh_button = QPushButton("Refresh now")
        self.refresh_button.setToolTip(
            "Check this computer's license with the license server now "
            "(Draftsmith also does this by itself once a day)."
        )
        self.message_label = QLabel(wordWrap=True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.activate_button)
        key_row.addWidget(self.refresh_button)
        key_box = QGroupBox("License key")
        key_layout = QVBoxLayout(key_box)
        key_layout.addLayout(key_row)
        key_layout.addWidget(self.message_label)

        self.machine_list = QListWidget()
        self.machine_list.setMaximumHeight(120)
        self.refresh_machines_button = QPushButton("Show machines")
        self.deactivate_button = QPushButton("Deactivate selected")
        self.deactivate_button.setEnabled(False)
        machine_buttons = QHBoxLayout()
        machine_buttons.addWidget(self.refresh_machines_button)
        machine_buttons.addWidget(self.deactivate_button)
        machine_buttons.addStretch(1)
        machines_box = QGroupBox("Activated machines")
        machines_layout = QVBoxLayout(machines_box)
        machines_layout.addWidget(self.machine_list)
        machines_layout.addLayout(machine_buttons)

        self.request_button = QPushButton("Create activation request")
        self.save_request_button = QPushButton("Save request…")
        self.save_request_button.setEnabled(False)
        self.import_button = QPushButton("Import license file…")
        self.request_text = QPlainTextEdit(readOnly=True)
        self.request_text.setMaximumHeight(110)
        self.request_text.setPlaceholderText(
            f"No internet here? Enter your key above, create a request, then open "
            f"{server_url()}/offline on any device with internet, paste the request, and "
            "import the license file you get back."
        )
        offline_buttons = QHBoxLayout()
        offline_buttons.addWidget(self.request_button)
        offline_buttons.addWidget(self.save_request_button)
        offline_buttons.addWidget(self.import_button)
        offline_box = QGroupBox("Offline activation")
        offline_layout = QVBoxLayout(offline_box)
        offline_layout.addLayout(offline_buttons)
        offline_layout.addWidget(self.request_text)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(self.notes_label)
        layout.addLayout(details)
        layout.addWidget(buy)
        layout.addWidget(key_box)
        layout.addWidget(machines_box)
        layout.addWidget(offline_box)
        layout.addWidget(close)

        self.activate_button.clicked.connect(lambda: self.activate())
        self.refresh_button.clicked.connect(lambda: self.refresh_now())
        self.key_edit.returnPressed.connect(self.activate)
        self.refresh_machines_button.clicked.connect(lambda: self.load_machines())
        self.deactivate_button.clicked.connect(lambda: self.deactivate_selected())
        self.machine_list.currentRowChanged.connect(
            lambda row: self.deactivate_button.setEnabled(row >= 0 and not self._busy())
        )
        self.request_button.clicked.connect(lambda: self.create_request())
        self.save_request_button.clicked.connect(lambda: self.save_request())
        self.import_button.clicked.connect(lambda: self.import_file())
        self.notes_label.hide()
        self.refresh_button.setEnabled(False)  # until the status says there is a license
        self.refresh_status()  # on a worker: the dialog shows at once

    # -- status -----------------------------------------------------------------------
    def refresh_status(self) -> None:
        """Work out the status on a worker thread, then show it."""

        def fresh_status() -> LicenseStatus:
            invalidate_status_cache()
            return license_status()

        task = _Task(fresh_status)
        self._status_tasks.add(task)

        def show(status: LicenseStatus) -> None:
            self._status_tasks.discard(task)
            if shiboken6.isValid(self):  # gone if closed before the keyring answered
                self._show_status(status)

        def failed(message: str, _code: str) -> None:
            self._status_tasks.discard(task)
            if shiboken6.isValid(self):
                self.status_label.setText(message)

        task.signals.done.connect(show)
        task.signals.failed.connect(failed)
        QThreadPool.globalInstance().start(task)

    def _show_status(self, status: LicenseStatus) -> None:
        self.status = status
        self.status_label.setText(status.reason)
        cert = status.certificate
        # The notes are about a license's key and refresh (the keyring can't keep the key,
        # the server wasn't reached): news to a licensed user, noise to one on the trial.
        notes = status.notes if cert is not None else ()
        self.notes_label.setText(" ".join(notes))
        self.notes_label.setVisible(bool(notes))
        self.edition_label.setText(cert.edition.capitalize() if cert else "—")
        self.purchased_label.setText(cert.purchased_at.isoformat() if cert else "—")
        self.updates_label.setText(cert.updates_until.isoformat() if cert else "—")
        self.refresh_button.setEnabled(cert is not None and not self._busy())
        self.status_loaded.emit(status)

    def _busy(self) -> bool:
        return bool(self._tasks)

    def _set_busy(self, busy: bool) -> None:
        for button in (
            self.activate_button,
            self.refresh_machines_button,
            self.request_button,
            self.import_button,
        ):
            button.setEnabled(not busy)
        has_license = self.status is not None and self.status.certificate is not None
        self.refresh_button.setEnabled(not busy and has_license)
        self.deactivate_button.setEnabled(not busy and self.machine_list.currentRow() >= 0)
        if busy:
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        else:
            QApplication.restoreOverrideCursor()

    def _run(self, kind: str, work: Callable[[], Any], on_done: Callable[[Any], str]) -> None:
        """Run ``work`` on a worker, then the status too (it may have changed), then report."""

        def work_then_status() -> tuple[Any, LicenseError | None, LicenseStatus]:
            result, error = None, None
            try:
                result = work()
            except LicenseError as refused:  # shown below, with the status it left
                error = refused
            invalidate_status_cache()
            return result, error, license_status()

        task = _Task(work_then_status)
        self._tasks.add(task)
        self._set_busy(True)
        if kind != "import":
            self.message_label.setText("Contacting the license server…")

        def finish(ok: bool, message: str) -> None:
            self._tasks.discard(task)
            self._set_busy(bool(self._tasks))
            self.message_label.setText(message)
            self.operation_finished.emit(kind, ok, message)

        def done(outcome: tuple[Any, LicenseError | None, LicenseStatus]) -> None:
            result, error, status = outcome
            self._show_status(status)
            if error is None:
                finish(True, on_done(result))
            else:
                failed(str(error), getattr(error, "code", ""))

        def failed(message: str, code: str) -> None:
            finish(False, message)
            if code == "TOO_MANY_MACHINES":  # show which machines hold the seats
                self.load_machines()

        def crashed(message: str, code: str) -> None:
            self.refresh_status()
            failed(message, code)

        task.signals.done.connect(done)
        task.signals.failed.connect(crashed)
        QThreadPool.globalInstance().start(task)

    def _typed_key(self) -> str | None:
        text = self.key_edit.text()
        if not text.strip():
            try:
                stored = KeyringStore().license_key()
            except KeyringUnavailable:
                stored = None
            if stored:
                return stored
        try:
            return normalize_key(text)
        except LicenseKeyError as error:
            self.message_label.setText(str(error))
            self.operation_finished.emit("key", False, str(error))
            return None

    # -- actions ----------------------------------------------------------------------
    def activate(self) -> None:
        key = self._typed_key()
        if key is None or self._busy():
            return
        self.key_edit.setText(key)

        def done(activation: Any) -> str:
            self._show_machines(activation.machines)
            message = f"Activated: {activation.certificate.edition} edition on this computer."
            return f"{message} {activation.note}" if activation.note else message

        self._run("activate", lambda: self.client.activate(key), done)

    def refresh_now(self) -> None:
        """Check this computer's license with the server now (after a long time offline)."""
        if self._busy():
            return

        def done(cert: Any) -> str:
            return f"License checked: {cert.edition} edition, all features available."

        self._run("refresh", lambda: self.client.refresh(), done)

    def load_machines(self) -> None:
        """List this license's machines: by the key typed (or stored), else by this
        computer's license file, so it works without a keyring too."""
        if self._busy():
            return
        key: str | None = None
        if self.key_edit.text().strip() or self.status is None or self.status.certificate is None:
            key = self._typed_key()
            if key is None:
                return

        def done(machines: list[Machine]) -> str:
            self._show_machines(machines)
            return f"{len(machines)} machine{'s' if len(machines) != 1 else ''} activated."

        self._run("machines", lambda: self.client.machines(key), done)

    def _show_machines(self, machines: list[Machine]) -> None:
        self.machines = list(machines)
        self.machine_list.clear()
        for machine in self.machines:
            label = f"{machine.name} — since {machine.activated_at[:10]}"
            if machine.this_machine:
                label += " (this computer)"
            QListWidgetItem(label, self.machine_list)

    def deactivate_selected(self) -> None:
        row = self.machine_list.currentRow()
        if row < 0 or row >= len(self.machines) or self._busy():
            return
        machine = self.machines[row]
        key = self._typed_key()
        if key is None:
            return

        def done(machines: list[Machine]) -> str:
            self._show_machines(machines)
            if machine.this_machine:
                return "This computer is deactivated; its seat is free."
            return f"{machine.name} is deactivated; its seat is free."

        target = None if machine.this_machine else machine.id
        self._run("deactivate", lambda: self.client.deactivate(target, key=key), done)

    def create_request(self) -> None:
        key = self._typed_key()
        if key is None:
            return
        self.request_text.setPlainText(offline_request(key))
        self.save_request_button.setEnabled(True)
        self.message_label.setText(
            "Copy this request, or save it to a file, and take it to the activation page."
        )
        self.operation_finished.emit("request", True, "request created")

    def save_request(self, path: Path | None = None) -> None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                "Save activation request",
                str(Path.home() / "draftsmith-request.txt"),
                "Text files (*.txt)",
            )
            if not chosen:
                return
            path = Path(chosen)
        try:
            path.write_text(self.request_text.toPlainText(), encoding="ascii")
        except OSError as error:
            self.message_label.setText(f"Could not save the request: {error.strerror}.")
            return
        self.message_label.setText(f"Request saved to {path}.")

    def import_file(self, path: Path | None = None) -> None:
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Import license file", str(Path.home()), "License files (*.txt);;All (*)"
            )
            if not chosen:
                return
            path = Path(chosen)
        if self._busy():
            return
        try:
            with open(path, "rb") as handle:
                data = handle.read(64 * 1024)
        except OSError as error:
            message = f"Could not read {path.name}: {error.strerror}."
            self.message_label.setText(message)
            self.operation_finished.emit("import", False, message)
            return

        def done(cert: Any) -> str:
            return f"License imported: {cert.edition} edition on this computer."

        self._run("import", lambda: import_license(data), done)

    def done(self, result: int) -> None:
        if self._tasks or self._status_tasks:
            QThreadPool.globalInstance().waitForDone(20_000)
        super().done(result)
