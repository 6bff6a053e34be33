"""PDF export: Qt renders the Markdown and prints it to a PDF file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from desktop.library.errors import SaveError


def export_pdf(markdown_text: str, destination: Path, title: str = "Document") -> None:
    destination = Path(destination)
    if not destination.parent.is_dir():
        raise SaveError(
            destination,
            f"Couldn't save “{destination.name}”: the folder “{destination.parent}” doesn't exist.",
            retryable=False,
        )
    writer = QPdfWriter(str(destination))
    writer.setTitle(title)
    writer.setCreator("Draftsmith")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(20, 20, 20, 20),
            QPageLayout.Unit.Millimeter,
        )
    )
    document = QTextDocument()
    font = QFont()
    font.setFamilies(["Noto Serif", "DejaVu Serif", "Georgia", "serif"])
    font.setPointSize(11)
    document.setDefaultFont(font)
    document.setMarkdown(markdown_text)
    document.print_(writer)
    del writer  # finishes the file
    if not destination.exists() or destination.stat().st_size == 0:
        raise SaveError(destination, f"Couldn't write “{destination.name}”.", retryable=True)
