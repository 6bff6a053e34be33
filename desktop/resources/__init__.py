"""Files the app ships inside its package: the app icon, the tab icons and the desktop entry.

They are package data, found through ``importlib.resources``, so a wheel install, a source
checkout and the installed (PyInstaller) app all find them the same way."""

from __future__ import annotations

import atexit
import contextlib
from importlib import resources
from pathlib import Path

APP_ICON = "draftsmith.svg"
DESKTOP_ENTRY = "draftsmith.desktop"

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def _real_path(name: str) -> Path:
    """A file path Qt can open: the packaged file itself, or a temporary copy when the
    package lives in an archive."""
    resource = resources.files(__name__).joinpath(name)
    if isinstance(resource, Path):
        return resource
    return _extracted.enter_context(resources.as_file(resource))


def icon(name: str = APP_ICON) -> Path:
    """An icon from ``desktop/resources/icons`` (the app icon by default)."""
    return _real_path(f"icons/{name}")


def desktop_entry() -> Path:
    """The freedesktop.org menu entry installers copy to ``applications/``."""
    return _real_path(DESKTOP_ENTRY)
