"""Where Draftsmith keeps things: one place for every file and folder name.

User-level places (settings, journal, logs) follow the platform's conventions via platformdirs;
library-level places (snapshots, notes, lock, trash) live inside the library folder so they move
with it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import platformdirs

APP_NAME = "Draftsmith"

DOCUMENT_SUFFIX = ".md"
# Inside a library folder.
META_DIR = ".draftsmith"
TRASH_DIR = ".trash"
SNAPSHOTS_DIR = "snapshots"
NOTES_DIR = "notes"
LOCK_FILE = "library.lock"
LIBRARY_CONFIG_FILE = "library.json"
WELCOME_DOCUMENT = "Welcome.md"
# In the user's directories.
SETTINGS_FILE = "settings.json"
PERSONAL_DICTIONARY_FILE = "personal-dictionary.txt"
JOURNAL_DIR = "journal"
BACKUPS_DIR = "backups"
PROGRESS_FILE = "daily-progress.json"
WORD_COUNT_CACHE_DIR = "word-counts"
LOG_FILE = "draftsmith.log"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def default_library_dir() -> Path:
    return Path(platformdirs.user_documents_dir()) / APP_NAME


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def personal_dictionary_path() -> Path:
    return config_dir() / PERSONAL_DICTIONARY_FILE


def journal_dir() -> Path:
    """Recovery journals are per machine (crash state), so they live in the state dir, not
    in the library a sync tool might copy elsewhere."""
    return state_dir() / JOURNAL_DIR


def backups_dir() -> Path:
    return data_dir() / BACKUPS_DIR


def word_count_cache_path(library_root: Path) -> Path:
    """Per library, in the user cache folder: rebuilt from the files if lost, and never
    copied along by a sync tool (the library folder is)."""
    key = hashlib.sha256(str(library_root).encode("utf-8")).hexdigest()[:16]
    return cache_dir() / WORD_COUNT_CACHE_DIR / f"{library_root.name}-{key}.json"


def progress_path() -> Path:
    return state_dir() / PROGRESS_FILE


def meta_dir(library_root: Path) -> Path:
    return library_root / META_DIR


def is_hidden_part(relative: Path) -> bool:
    """True for anything under a dot folder (``.draftsmith``, ``.trash``, ``.git``...)."""
    return any(part.startswith(".") for part in relative.parts)
