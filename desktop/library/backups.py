"""Zip backups of the library's documents (and notes), taken when the app closes.

A backup is skipped when nothing changed since the last one; only the newest few are kept.
They live in the user data dir, so a deleted or damaged library folder can be recovered.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from datetime import datetime
from pathlib import Path

from desktop import paths

logger = logging.getLogger(__name__)

DEFAULT_KEEP = 10


def _backup_files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(root)
        notes = relative.parts[:2] == (paths.META_DIR, paths.NOTES_DIR)
        if notes or (path.suffix == paths.DOCUMENT_SUFFIX and not paths.is_hidden_part(relative)):
            found.append(path)
    return sorted(found)


def _fingerprint(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def backup_library(
    root: Path, destination: Path, keep: int = DEFAULT_KEEP, now: datetime | None = None
) -> Path | None:
    """Write ``<destination>/<library>-<time>.zip``; None when nothing changed since the last."""
    root = Path(root)
    files = _backup_files(root)
    if not files:
        return None
    fingerprint = _fingerprint(root, files)
    destination.mkdir(parents=True, exist_ok=True)
    marker = destination / f".{root.name}.fingerprint"
    try:
        if marker.read_text(encoding="ascii") == fingerprint:
            return None
    except OSError:
        pass
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    target = destination / f"{root.name}-{stamp}.zip"
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root).as_posix())
    partial.replace(target)
    marker.write_text(fingerprint, encoding="ascii")
    backups = sorted(destination.glob(f"{root.name}-*.zip"))
    for old in backups[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return target
