"""Which files in the library folder sync, and safe reads/writes of them.

Synced: Markdown and text documents anywhere under the library root, plus document notes in
``.draftsmith/notes/``. Not synced: the rest of ``.draftsmith/`` (lock files, the recovery
journal, local snapshots and caches are per machine -- sync keeps its own history), other
hidden files and folders, and temporary files.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import atomic_write

DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt")
METADATA_DIR = ".draftsmith"
SYNCED_METADATA = (f"{METADATA_DIR}/notes/",)
_TEMP_SUFFIXES = (".tmp", ".part", ".swp", "~")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
_WINDOWS_BAD_CHARS = re.compile(r'[<>:"\\|?*\x00-\x1f]')


@dataclass(frozen=True)
class FileState:
    path: str  # relative, "/"-separated, NFC
    size: int
    mtime_ns: int


def normalize(rel: str) -> str:
    return unicodedata.normalize("NFC", rel)


def is_synced(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    if name.endswith(_TEMP_SUFFIXES) or name.startswith((".~", "~$")):
        return False
    if rel.startswith(SYNCED_METADATA):
        return True
    if any(p.startswith(".") for p in parts):
        return False
    return name.lower().endswith(DOCUMENT_SUFFIXES)


def scan(root: Path) -> dict[str, FileState]:
    """All synced files under ``root`` keyed by normalized relative path.

    One ``scandir`` per folder and one ``lstat`` per document (a quiet round compares these
    with the last round's size and mtime, so nothing is read). Linked folders are not
    entered, as with ``os.walk``."""
    found: dict[str, FileState] = {}
    folders = [("", str(root))]
    while folders:
        rel_dir, folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir():
                    if not entry.is_symlink() and (
                        not name.startswith(".")
                        or (rel_dir + name + "/").startswith(METADATA_DIR + "/")
                    ):
                        folders.append((rel_dir + name + "/", entry.path))
                    continue
                rel = normalize(rel_dir + name)
                if not is_synced(rel) or not entry.is_file():
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[rel] = FileState(rel, st.st_size, st.st_mtime_ns)
    return found


def on_disk(root: Path, rel: str) -> Path:
    """The real file for a normalized path (a macOS disk may hand back NFD names)."""
    candidate = root / rel
    if rel.isascii() or candidate.exists():
        return candidate  # normalization only ever differs for non-ASCII names
    parent = candidate.parent
    if parent.is_dir():
        for child in parent.iterdir():
            if normalize(child.name) == normalize(candidate.name):
                return child
    return candidate


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_chunks(
    target: Path,
    chunks: Iterable[bytes],
    expected_sha256: str | None = None,
    still_ok: Callable[[], bool] | None = None,
) -> tuple[str, int] | None:
    """Write through the project's atomic-write helper. Returns (sha256, size).

    Nothing replaces ``target`` unless the text hashes to ``expected_sha256`` and
    ``still_ok()`` (checked at the last moment, e.g. "the writer has not saved meanwhile")
    is true; returns None when ``still_ok`` said no."""
    h = hashlib.sha256()
    size = 0

    def counted() -> Iterator[bytes]:
        nonlocal size
        for chunk in chunks:
            h.update(chunk)
            size += len(chunk)
            yield chunk

    def ready() -> bool:
        if expected_sha256 is not None and h.hexdigest() != expected_sha256:
            raise ContentMismatch(f"{target.name}: the received text does not match its record.")
        return still_ok is None or still_ok()

    if not atomic_write.write_chunks(
        target, counted(), ready=ready, make_parents=True, temp_suffix=".sync.tmp"
    ):
        return None
    return h.hexdigest(), size


class ContentMismatch(Exception):
    pass


def safe_relative(rel: str) -> bool:
    """A path from another device is only ever written inside the library, to a synced name."""
    if not rel or "\x00" in rel:
        return False
    if any(p in ("", ".", "..") for p in rel.split("/")):
        return False  # also rules out absolute paths ("/etc" starts with an empty part)
    return is_synced(rel)  # Windows-only hazards (C:, \\, CON) are local_name()'s job


def local_name(rel: str, windows: bool | None = None) -> str:
    """A relative path this OS can store (remote names are opaque; only local names matter)."""
    if windows is None:
        windows = os.name == "nt"
    if not windows:
        return rel
    parts = []
    for part in rel.replace("\\", "/").split("/"):
        part = _WINDOWS_BAD_CHARS.sub("_", part).rstrip(" .") or "_"
        if _WINDOWS_RESERVED.match(part):
            part = "_" + part
        parts.append(part)
    return "/".join(parts)


def free_name(root: Path, rel: str, taken: set[str]) -> str:
    """``rel`` or ``rel`` with ' (2)', ' (3)'... so it collides with nothing, case-insensitively."""
    lowered = {t.casefold() for t in taken}
    stem, dot, suffix = rel.rpartition(".")
    if not dot or "/" in suffix:
        stem, suffix = rel, ""
    else:
        suffix = "." + suffix
    candidate = rel
    n = 2
    while candidate.casefold() in lowered or on_disk(root, candidate).exists():
        candidate = f"{stem} ({n}){suffix}"
        n += 1
    return candidate


def conflict_name(rel: str, device_name: str, when: str) -> str:
    stem, dot, suffix = rel.rpartition(".")
    if not dot or "/" in suffix:
        return f"{rel} (conflict from {device_name}, {when})"
    return f"{stem} (conflict from {device_name}, {when}).{suffix}"
