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


def trial_certificate_path() -> Path:
    """The server-signed trial certificate (when the server was reachable)."""
    return license_dir() / "trial.txt"


def trial_record_path() -> Path:
    """A second copy of the trial start and last-seen time, in the config folder."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "trial.json"
