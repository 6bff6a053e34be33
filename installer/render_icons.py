"""Render the app icon (SVG) into the PNG sizes installers need, and a Windows ``.ico``.

    python installer/render_icons.py build/icons

Writes ``draftsmith-<size>.png`` for every size in ``SIZES`` and ``draftsmith.ico``. The macOS
script turns the PNGs into ``draftsmith.icns`` with ``iconutil``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(destination: Path) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    from desktop.resources import icon

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(icon()))
    if not renderer.isValid():
        raise RuntimeError(f"{icon()} is not a readable SVG")
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    images = {}
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        path = destination / f"draftsmith-{size}.png"
        if not image.save(str(path)):
            raise RuntimeError(f"Could not write {path}")
        images[size] = image
        written.append(path)
    ico = destination / "draftsmith.ico"
    if images[256].save(str(ico), "ICO"):  # Qt's ico plugin writes the largest size
        written.append(ico)
    return written


if __name__ == "__main__":
    for path in render(Path(sys.argv[1] if len(sys.argv) > 1 else "build/icons")):
        print(path)
