"""Where a device keeps its sync state for a library: one SQLite file per library folder in
the user's state directory (never inside the library, which may itself be synced)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from desktop import paths

SYNC_STATE_DIR = "sync"


def state_path_for(library_root: Path) -> Path:
    key = hashlib.sha256(str(Path(library_root).resolve()).encode()).hexdigest()[:16]
    return paths.state_dir() / SYNC_STATE_DIR / f"library-{key}.sqlite"
