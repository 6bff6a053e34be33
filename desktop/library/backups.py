"""Zip backups of the library's documents (and notes).

Two kinds, both in the user data dir (so a deleted or damaged library folder can be recovered):
- a full backup, ``<library>-<time>.zip``: every document and note. The app takes one in the
  background during the session whenever the library changed since the last one;
- a changes backup, ``<library>-<time>-changes.zip``: only what changed since the newest full
  backup (its ``CHANGES.txt`` names that backup and lists deleted files). Closing the app writes
  one of these, so closing costs the size of the session's edits, not of the library.

To restore: unzip the newest full backup, then the newest changes backup made after it over it.
A backup is skipped when nothing changed since the last one; only the newest few are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from desktop import paths

logger = logging.getLogger(__name__)

DEFAULT_KEEP = 10
CHANGES_SUFFIX = "-changes"
CHANGES_NOTE = "CHANGES.txt"
# Closing writes at most this much synchronously; more (a huge library never backed up, or
# one rewritten by another tool) is finished by a background process after the window closes.
CLOSE_BYTES_LIMIT = 1024 * 1024

Manifest = dict[str, list[int]]  # relative path -> [size, mtime_ns]


def _manifest(root: Path) -> Manifest:
    """Documents (outside dot folders) and everything in ``.draftsmith/notes``, with their
    size and time. ``os.scandir`` and plain strings: this runs over the whole library at
    close."""
    result: Manifest = {}

    def walk(folder: str, prefix: str, in_notes: bool) -> None:
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:
            return
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir():
                    if in_notes or not name.startswith("."):
                        walk(entry.path, prefix + name + "/", in_notes)
                    elif not prefix and name == paths.META_DIR:
                        notes = os.path.join(entry.path, paths.NOTES_DIR)
                        walk(notes, f"{paths.META_DIR}/{paths.NOTES_DIR}/", True)
                elif in_notes or (
                    name.endswith(paths.DOCUMENT_SUFFIX) and not name.startswith(".")
                ):
                    stat = entry.stat()
                    result[prefix + name] = [stat.st_size, stat.st_mtime_ns]
            except OSError:
                continue

    walk(str(root), "", False)
    return result


def _fingerprint(manifest: Manifest) -> str:
    digest = hashlib.sha256()
    for name, (size, mtime) in sorted(manifest.items()):
        digest.update(f"{name}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


def _marker(root: Path, destination: Path) -> Path:
    return destination / f".{root.name}.fingerprint"


def _manifest_path(root: Path, destination: Path) -> Path:
    return destination / f".{root.name}.full-backup.json"


def _stamp(now: datetime | None) -> str:
    return (now or datetime.now()).strftime("%Y%m%d-%H%M%S")


def _unchanged(root: Path, destination: Path, fingerprint: str) -> bool:
    try:
        return _marker(root, destination).read_text(encoding="ascii") == fingerprint
    except OSError:
        return False


class BackupCancelled(Exception):
    """``should_stop`` said so; nothing was written."""


def _write_zip(
    target: Path,
    root: Path,
    names: list[str],
    note: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    partial = target.with_name(target.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                if should_stop is not None and should_stop():
                    raise BackupCancelled
                archive.write(root / name, name)
            if note is not None:
                archive.writestr(CHANGES_NOTE, note)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def backup_library(
    root: Path,
    destination: Path,
    keep: int = DEFAULT_KEEP,
    now: datetime | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
) -> Path | None:
    """Write a full ``<destination>/<library>-<time>.zip``; None when nothing changed since
    the last backup (full or changes). ``should_stop`` is asked between files: True leaves
    everything as it was and raises ``BackupCancelled``."""
    root = Path(root)
    state = _new_state(root, destination)
    if state is None:
        return None
    manifest, fingerprint = state
    target = destination / f"{root.name}-{_stamp(now)}.zip"
    _write_zip(target, root, sorted(manifest), should_stop=should_stop)
    _manifest_path(root, destination).write_text(
        json.dumps({"backup": target.name, "files": manifest}), encoding="utf-8"
    )
    _marker(root, destination).write_text(fingerprint, encoding="ascii")
    _prune(root, destination, keep)
    return target


def _new_state(root: Path, destination: Path) -> tuple[Manifest, str] | None:
    """The library's manifest and its fingerprint; None when it is empty or nothing changed
    since the last backup (full or changes) in ``destination``."""
    manifest = _manifest(root)
    if not manifest:
        return None
    fingerprint = _fingerprint(manifest)
    destination.mkdir(parents=True, exist_ok=True)
    if _unchanged(root, destination, fingerprint):
        return None
    return manifest, fingerprint


def _last_full(root: Path, destination: Path) -> tuple[str, Manifest] | None:
    try:
        raw = json.loads(_manifest_path(root, destination).read_text(encoding="utf-8"))
        name, files = str(raw["backup"]), raw["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (destination / name).is_file() or not isinstance(files, dict):
        return None
    return name, files


def backup_changes(
    root: Path,
    destination: Path,
    keep: int = DEFAULT_KEEP,
    now: datetime | None = None,
    *,
    limit_bytes: int | None = None,
) -> Path | None:
    """Write ``<library>-<time>-changes.zip`` with what changed since the newest full backup
    (a full backup when there is none). None when nothing changed since the last backup.

    Raises ``BackupTooLarge`` instead of writing more than ``limit_bytes`` of documents."""
    root = Path(root)
    state = _new_state(root, destination)
    if state is None:
        return None
    manifest, fingerprint = state
    last = _last_full(root, destination)
    base_files: Manifest = last[1] if last else {}
    changed = sorted(name for name, entry in manifest.items() if base_files.get(name) != entry)
    if limit_bytes is not None and sum(manifest[n][0] for n in changed) > limit_bytes:
        raise BackupTooLarge(len(changed))
    if last is None:
        return backup_library(root, destination, keep, now)
    deleted = sorted(set(base_files) - set(manifest))
    note = (
        f"Changes since the full backup {last[0]}: unzip that one first, then this one over "
        "it.\n"
        + ("Deleted since then:\n" + "".join(f"  {name}\n" for name in deleted) if deleted else "")
    )
    target = destination / f"{root.name}-{_stamp(now)}{CHANGES_SUFFIX}.zip"
    _write_zip(target, root, changed, note)
    _marker(root, destination).write_text(fingerprint, encoding="ascii")
    _prune(root, destination, keep)
    return target


class BackupTooLarge(Exception):
    """Too much changed to back it up while the writer waits for the window to close."""

    def __init__(self, files: int) -> None:
        super().__init__(f"{files} files changed since the last full backup")
        self.files = files


def _prune(root: Path, destination: Path, keep: int) -> None:
    if keep <= 0:
        return
    backups = sorted(destination.glob(f"{root.name}-*.zip"))
    full = [p for p in backups if not p.stem.endswith(CHANGES_SUFFIX)]
    changes = [p for p in backups if p.stem.endswith(CHANGES_SUFFIX)]
    for old in full[:-keep]:
        old.unlink(missing_ok=True)
    oldest_full = full[-keep:][0].stem if full[-keep:] else ""
    for index, old in enumerate(changes):
        # A changes backup is useless without its full backup; keep the newest few.
        if old.stem.removesuffix(CHANGES_SUFFIX) < oldest_full or index < len(changes) - keep:
            old.unlink(missing_ok=True)


# The installed (frozen) app has no Python to run ``-m`` with: its own binary takes this flag.
FINISH_BACKUP_FLAG = "--finish-backup"


def after_exit_command(root: Path, destination: Path) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, FINISH_BACKUP_FLAG, str(root), str(destination)]
    return [sys.executable, "-m", "desktop.library.backups", str(root), str(destination)]


def back_up_after_exit(root: Path, destination: Path) -> subprocess.Popen[bytes]:
    """Finish a big backup in a separate process, so the window can close at once."""
    return subprocess.Popen(
        after_exit_command(root, destination),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=str(Path(__file__).resolve().parents[2]),
    )


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    root, destination = Path(argv[0]), Path(argv[1])
    try:
        backup_changes(root, destination)
    except OSError as exc:
        logger.warning("Couldn't back up the library: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
