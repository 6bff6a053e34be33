"""Help › About: what is installed and where things are — version (from pyproject.toml, via
the installed package's metadata), the AI model and its checksum, the license state, and the
folders of the library, logs and backups. Everything here is read locally."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from desktop import paths
from desktop.about import app_version, license_summary, model_facts
from desktop.settings import Settings
from inference.model_cache import model_remedy


@dataclass(frozen=True)
class AboutFacts:
    version: str
    model: str
    model_checksum: str
    license: str
    library: Path
    logs: Path
    backups: Path

    def as_text(self) -> str:
        return "\n".join(f"{label}: {value}" for label, value in self.rows())

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("Version", self.version),
            ("AI model", self.model),
            ("Model checksum (SHA-256)", self.model_checksum),
            ("License", self.license),
            ("Library", str(self.library)),
            ("Logs", str(self.logs)),
            ("Backups", str(self.backups)),
        ]


def model_rows(settings: Settings) -> tuple[str, str]:
    """(the model the AI uses, sha256 of its file): desktop.about.model_facts, in words."""
    facts = model_facts(chosen=settings.ai_model_dir())
    if facts.problem:
        return f"Can't read the model: {facts.problem}", "—"
    if facts.folder is None:
        return f"No model yet. {model_remedy()}", "—"
    return (
        f"{facts.name} ({facts.file or 'no model file'}, in {facts.folder})",
        facts.checksum or "not listed in the model's manifest",
    )


def gather_facts(settings: Settings, library_root: Path) -> AboutFacts:
    model, checksum = model_rows(settings)
    return AboutFacts(
        version=app_version(),
        model=model,
        model_checksum=checksum,
        license=license_summary(),
        library=library_root,
        logs=paths.log_dir(),
        backups=paths.backups_dir(),
    )


class AboutDialog(QDialog):
    def __init__(self, facts: AboutFacts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AboutDialog")
        self.facts = facts
        self.setWindowTitle(self.tr("About Draftsmith"))
        self.setMinimumWidth(640)
        intro = QLabel(
            self.tr(
                "<h2>Draftsmith</h2>A calm writing app whose AI runs on your own computer. "
                "Your documents are plain Markdown files in your library folder."
            )
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for label, value in facts.rows():
            field = QLabel(value)
            field.setWordWrap(True)
            field.setTextInteractionFlags(field.textInteractionFlags().TextSelectableByMouse)
            self.values[label] = field
            form.addRow(self.tr(label) + ":", field)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton(self.tr("Copy"), QDialogButtonBox.ButtonRole.ActionRole)
        copy.setToolTip(self.tr("Copy these details, e.g. for a support request"))
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(facts.as_text()))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)
