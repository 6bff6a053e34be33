"""Where the licensing client keeps its files (inside the user's data directory)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "Draftsmith"
KEYRING_SERVICE = "Draftsmith"


def license_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "license"


def certificate_path() -> Path:
    return license_dir() / "license.txt"


def state_path() -> Path:
    """Trial start, last time seen, the server's last word: nothing secret."""
    return license_dir() / "state.json"
