"""Settings › Sync › Set up sync: server, app password, passphrase; the recovery key shown once."""

from __future__ import annotations

import logging
import platform
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from desktop.sync import Connection, KdfParams, SyncEngine, SyncError, create_remote, join_remote
from desktop.sync.account import check_local, check_server
from desktop.sync.credentials import keyring_usable
from desktop.sync.webdav import WebDavClient

log = logging.getLogger(__name__)


def _set_text_colour(label: QLabel, colour: str | None) -> None:
    palette = label.palette()
    if colour is None:
        palette = QApplication.palette(label)
    else:
        palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
    label.setPalette(palette)


def _default_device_name() -> str:
    return platform.node().split(".")[0] or "This computer"


class _ServerPage(QWizardPage):
    """Server, account and this device; checked here (locally first, then the server)
    before the next page, so a wrong address is explained where it was typed."""

    def __init__(self, wizard: SyncSetupWizard, keyring_ok: bool) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle(self.tr("Your WebDAV server"))
        self.setSubTitle(
            self.tr(
                "Draftsmith syncs through a WebDAV folder you already have "
                "(Nextcloud, ownCloud, a NAS). "
                "The server only ever sees encrypted, unnamed files."
            )
        )
        self.url = QLineEdit(
            placeholderText="https://cloud.example.com/remote.php/dav/files/me/Draftsmith/"
        )
        self.user = QLineEdit()
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.password.setToolTip(
            self.tr("Use an app password from your server's security settings.")
        )
        self.device_name = QLineEdit(_default_device_name())
        self.device_name.setToolTip(
            self.tr("Shown in the history and in conflict copies' names on your other devices.")
        )
        self.create_new = QRadioButton(
            self.tr("This is my first device: create the encrypted sync folder")
        )
        self.join_existing = QRadioButton(
            self.tr("Join the sync folder I set up on another device")
        )
        self.create_new.setChecked(True)
        form = QFormLayout()
        form.addRow(self.tr("Server address"), self.url)
        form.addRow(self.tr("User name"), self.user)
        form.addRow(self.tr("App password"), self.password)
        form.addRow(self.tr("This device's name"), self.device_name)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.create_new)
        layout.addWidget(self.join_existing)
        # Without a keyring: an honest alternative instead of a dead end.
        self.no_keyring = QLabel(
            self.tr(
                "<b>No system keyring was found</b> (on Linux: GNOME Keyring or KWallet, "
                "installed and unlocked). Sync needs a place for two secrets: the app "
                "password and the key that decrypts your documents.<br>"
                "Draftsmith can keep them in a file in its settings folder that only your "
                "user account can read. That file is <i>not</i> protected by a password: "
                "anyone who can read your files, or a backup of them, could use it to read "
                "your synced documents. A keyring is safer; you can set sync up again later."
            )
        )
        self.no_keyring.setWordWrap(True)
        self.use_file = QCheckBox(
            self.tr("Keep the sync secrets in a file only my user account can read")
        )
        self.use_file.toggled.connect(self.completeChanged)
        layout.addWidget(self.no_keyring)
        layout.addWidget(self.use_file)
        self.no_keyring.setVisible(not keyring_ok)
        self.use_file.setVisible(not keyring_ok)
        self.keyring_ok = keyring_ok
        self.error = QLabel()
        self.error.setWordWrap(True)
        _set_text_colour(self.error, "#b00020")
        layout.addWidget(self.error)
        self._checked: tuple[str, ...] | None = None  # the answers the server accepted
        self.checking = False
        for field in (self.url, self.user, self.password, self.device_name):
            field.textChanged.connect(self.completeChanged)
        self.create_new.toggled.connect(self.completeChanged)

    @property
    def secrets_in_file(self) -> bool:
        return not self.keyring_ok and self.use_file.isChecked()

    def connection(self) -> Connection:
        return Connection(
            self.url.text().strip(),
            self.user.text().strip(),
            self.password.text(),
            self.device_name.text().strip(),
        )

    def _answers(self) -> tuple[str, ...]:
        c = self.connection()
        return (c.url, c.user, c.app_password, str(self.create_new.isChecked()))

    def isComplete(self) -> bool:
        fields = (self.url, self.user, self.password, self.device_name)
        return (
            not self.checking
            and all(f.text().strip() for f in fields)
            and (self.keyring_ok or self.use_file.isChecked())
        )

    def validatePage(self) -> bool:
        if self._checked == self._answers():
            return True
        if self.checking:
            return False
        wizard = self._wizard
        try:
            check_local(wizard.state_path, wizard.library_root, self.secrets_in_file)
        except SyncError as exc:
            self._show_error(str(exc))
            return False
        connection, creating, answers = (
            self.connection(),
            self.create_new.isChecked(),
            self._answers(),
        )
        self.checking = True
        self.completeChanged.emit()
        _set_text_colour(self.error, None)
        self.error.setText(self.tr("Checking the server…"))

        def work() -> tuple[SyncEngine | None, str]:
            check_server(connection, creating)
            return None, ""

        job = _SetupJob(work, self)
        job.done.connect(lambda _engine, _key, error: self._on_checked(answers, error))
        job.start()
        return False

    def _on_checked(self, answers: tuple[str, ...], error: str) -> None:
        self.checking = False
        self.completeChanged.emit()
        if error:
            self._show_error(error)
            return
        self.error.clear()
        self._checked = answers
        if self._answers() == answers and self._wizard.currentPage() is self:
            self._wizard.next()

    def _show_error(self, text: str) -> None:
        _set_text_colour(self.error, "#b00020")
        self.error.setText(text)


class _KeyPage(QWizardPage):
    def __init__(self, wizard: SyncSetupWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Encryption passphrase")
        self.passphrase = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.recovery = QLineEdit(placeholderText="XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX")
        self.error = QLabel()
        self.error.setWordWrap(True)
        # Colours through the palette, not a per-widget style sheet: the app swaps its style
        # sheet on theme changes, and per-widget sheets made that crash Qt in tests.
        _set_text_colour(self.error, "#b00020")
        self.form = QFormLayout()
        self.form.addRow("Passphrase", self.passphrase)
        self.form.addRow("Repeat it", self.repeat)
        self.form.addRow("…or recovery key", self.recovery)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        for field in (self.passphrase, self.repeat, self.recovery):
            field.textChanged.connect(self.completeChanged)

    def initializePage(self) -> None:
        creating = self._wizard.server.create_new.isChecked()
        self.setSubTitle(
            "Choose a passphrase. It encrypts everything before it leaves this computer; "
            "the server never sees it. You will need it on your other devices."
            if creating
            else "Enter the passphrase you chose on your first device (or the recovery key)."
        )
        self.form.setRowVisible(self.repeat, creating)
        self.form.setRowVisible(self.recovery, not creating)
        self.error.clear()

    def isComplete(self) -> bool:
        if self._wizard.server.create_new.isChecked():
            return len(self.passphrase.text()) >= 8 and self.passphrase.text() == self.repeat.text()
        return bool(self.passphrase.text() or self.recovery.text().strip())

    def validatePage(self) -> bool:
        # The key derivation and the server calls run in a thread; when they are done the
        # wizard moves on by itself (or shows the error here).
        if self._wizard.engine is not None:
            return True
        if not self._wizard.busy:
            self._wizard.start_setup()
        return False


class _RecoveryPage(QWizardPage):
    def __init__(self, wizard: SyncSetupWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Your recovery key")
        self.setSubTitle(
            "If you forget the passphrase, this key is the only way back into your synced "
            "documents. It is shown only now: print it or save it somewhere safe."
        )
        self.key = QLineEdit(readOnly=True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSize(14)
        self.key.setFont(mono)
        copy = QPushButton("Copy")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.key.text()))
        self.save_button = QPushButton("Save to file…")
        self.save_button.clicked.connect(self.save_to_file)
        self.saved = QCheckBox("I have saved my recovery key")
        self.saved.toggled.connect(self.completeChanged)
        row = QHBoxLayout()
        row.addWidget(self.key, 1)
        row.addWidget(copy)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.saved)

    def initializePage(self) -> None:
        self.key.setText(self._wizard.recovery_key)

    def isComplete(self) -> bool:
        return self.saved.isChecked() or not self._wizard.recovery_key

    def save_to_file(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getSaveFileName(
                self, "Save recovery key", "Draftsmith recovery key.txt", "Text (*.txt)"
            )
        if path:
            Path(path).write_text(
                "Draftsmith sync recovery key\n\n" + self._wizard.recovery_key + "\n",
                encoding="utf-8",
            )


class SyncSetupWizard(QWizard):
    """Creates or joins the remote; ``engine`` is set once set-up has succeeded."""

    def __init__(
        self,
        state_path: Path,
        library_root: Path,
        parent: QWidget | None = None,
        kdf: KdfParams | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set up sync")
        # Deleted through the event loop when it closes: a QWizard left to be deleted along
        # with its parent window crashed Qt's next style-sheet change (seen in the UI tests).
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.state_path = state_path
        self.library_root = library_root
        self.kdf = kdf
        self.engine: SyncEngine | None = None
        self.recovery_key = ""
        self.busy = False
        self.server = _ServerPage(self, keyring_usable())
        self.keys = _KeyPage(self)
        self.recovery = _RecoveryPage(self)
        self.addPage(self.server)
        self.addPage(self.keys)
        self.recovery_page_id = self.addPage(self.recovery)

    def nextId(self) -> int:
        if self.currentPage() is self.keys and self.server.join_existing.isChecked():
            return -1  # joining: no recovery key to show
        return super().nextId()

    def start_setup(self) -> None:
        s = self.server
        connection = s.connection()
        creating = s.create_new.isChecked()
        in_file = s.secrets_in_file
        passphrase = self.keys.passphrase.text()
        recovery = self.keys.recovery.text().strip()
        state_path, library_root, kdf = self.state_path, self.library_root, self.kdf

        def work() -> tuple[SyncEngine, str]:
            client = WebDavClient(connection.url, connection.user, connection.app_password)
            if creating:
                return create_remote(
                    connection,
                    passphrase,
                    state_path,
                    library_root,
                    kdf=kdf,
                    client=client,
                    secrets_in_file=in_file,
                )
            engine = join_remote(
                connection,
                state_path,
                library_root,
                passphrase=passphrase or None,
                recovery_key=recovery or None,
                client=client,
                secrets_in_file=in_file,
            )
            return engine, ""

        self.busy = True
        self._set_buttons(False)
        _set_text_colour(self.keys.error, None)
        self.keys.error.setText("Setting up: protecting the key and contacting the server…")
        job = _SetupJob(work, self)
        job.done.connect(self._on_setup_done)
        job.start()

    def _set_buttons(self, enabled: bool) -> None:
        for which in (
            QWizard.WizardButton.BackButton,
            QWizard.WizardButton.NextButton,
            QWizard.WizardButton.FinishButton,
            QWizard.WizardButton.CancelButton,
        ):
            self.button(which).setEnabled(enabled)

    def _on_setup_done(self, engine: SyncEngine | None, recovery_key: str, error: str) -> None:
        self.busy = False
        self._set_buttons(True)
        _set_text_colour(self.keys.error, "#b00020")
        if engine is None:
            self.keys.error.setText(error)
            return
        self.keys.error.clear()
        self.engine, self.recovery_key = engine, recovery_key
        log.info("sync set up (%s)", "created" if recovery_key else "joined")
        if recovery_key:
            self.next()
        else:
            self.accept()


class _SetupJob(QObject):
    """Runs set-up off the GUI thread; ``done`` arrives on the GUI thread (queued)."""

    done = Signal(object, str, str)  # engine or None, recovery key, error message

    def __init__(self, work: Callable[[], tuple[SyncEngine | None, str]], parent: QObject) -> None:
        super().__init__(parent)
        self._work = work

    def start(self) -> None:
        threading.Thread(target=self._run, name="sync-setup", daemon=True).start()

    def _run(self) -> None:
        try:
            engine, key = self._work()
        except SyncError as exc:
            self.done.emit(None, "", str(exc))
        except Exception as exc:
            log.exception("sync set-up failed")
            self.done.emit(None, "", f"Set-up failed unexpectedly: {exc}")
        else:
            self.done.emit(engine, key, "")
