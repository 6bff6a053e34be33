"""Every question the app asks the user goes through a Prompter, so tests can answer like a
user would (a scripted Prompter) while the app shows real dialogs."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QWidget,
)

from desktop.library.recovery_journal import RecoveryEntry

logger = logging.getLogger(__name__)


class Prompter:
    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def info(self, title: str, message: str) -> None:
        QMessageBox.information(self.parent, title, message)

    def error(self, title: str, message: str, details: str = "") -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self.parent
        )
        if details:
            box.setDetailedText(details)
            copy = box.addButton("Copy details and close", QMessageBox.ButtonRole.ActionRole)
            copy.clicked.connect(lambda: QApplication.clipboard().setText(details))
        box.exec()

    def confirm(self, title: str, message: str) -> bool:
        answer = QMessageBox.question(self.parent, title, message)
        return answer == QMessageBox.StandardButton.Yes

    def ask_text(self, title: str, label: str, default: str = "") -> str | None:
        """A roomy one-line question with ``default`` filled in and selected."""
        dialog = QInputDialog(self.parent)
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setTextValue(default)
        dialog.setMinimumWidth(460)
        dialog.resize(max(460, dialog.sizeHint().width()), dialog.sizeHint().height())
        ok = dialog.exec() == QInputDialog.DialogCode.Accepted
        text = dialog.textValue()
        dialog.deleteLater()
        return text if ok else None

    def choose(self, title: str, label: str, options: list[str]) -> int | None:
        item, ok = QInputDialog.getItem(self.parent, title, label, options, 0, False)
        return options.index(item) if ok else None

    def ask_save_path(self, title: str, start: Path, filter_text: str) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self.parent, title, str(start), filter_text)
        return Path(name) if name else None

    def ask_open_path(self, title: str, start: Path, filter_text: str) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self.parent, title, str(start), filter_text)
        return Path(name) if name else None

    def ask_folder(self, title: str, start: Path) -> Path | None:
        name = QFileDialog.getExistingDirectory(self.parent, title, str(start))
        return Path(name) if name else None

    def offer_library(self, default: Path) -> Path:
        """First run: where the documents live. Keeps the default unless another is chosen."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Welcome to Draftsmith",
            "Your documents will be plain Markdown files in this folder:\n\n"
            f"{default}\n\nYou can change it later in Settings.",
            QMessageBox.StandardButton.NoButton,
            self.parent,
        )
        box.addButton("Use this folder", QMessageBox.ButtonRole.AcceptRole)
        other = box.addButton("Choose another…", QMessageBox.ButtonRole.ActionRole)
        box.exec()
        if box.clickedButton() is other:
            chosen = self.ask_folder("Choose the library folder", default.parent)
            if chosen is not None:
                return chosen
        return default

    def ask_restore(self, entry: RecoveryEntry) -> bool:
        state = "is newer than the saved file" if entry.disk_exists else "was never saved"
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Recover unsaved text",
            f"Draftsmith didn't close properly. Text for “{entry.document.name}” "
            f"{state}. Restore it?",
            QMessageBox.StandardButton.NoButton,
            self.parent,
        )
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.exec()
        return box.clickedButton() is restore

    def ask_locked(self, message: str, stale: bool) -> str:
        """Returns "take_over", "read_only" or "quit"."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Library in use",
            message,
            QMessageBox.StandardButton.NoButton,
            self.parent,
        )
        take: QPushButton | None = None
        if stale:
            take = box.addButton("Take over", QMessageBox.ButtonRole.AcceptRole)
        read_only = box.addButton("Open read-only", QMessageBox.ButtonRole.ActionRole)
        box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        clicked = box.clickedButton()
        if take is not None and clicked is take:
            return "take_over"
        return "read_only" if clicked is read_only else "quit"
